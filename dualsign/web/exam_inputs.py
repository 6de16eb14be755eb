"""What every viewer endpoint needs: the exam (site-checked), its latest analysis, and its readable files."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from dualsign.analyzers.models import AnalysisRun
from dualsign.analyzers.registry import NoAnalyzer, analyzer_for_modality
from dualsign.analyzers.runs import latest_run
from dualsign.exams import service as exams
from dualsign.exams.api import load_exam
from dualsign.exams.models import Exam
from dualsign.http import Principal
from dualsign.runtime import Runtime


def viewed_exam(rt: Runtime, session: Session, principal: Principal, exam_id: int, modality: str
                ) -> tuple[Exam, AnalysisRun | None]:
    """The exam of this modality the principal may see, and its latest successful analysis."""
    exam = load_exam(rt, session, principal, exam_id)
    if exam.modality != modality:
        raise HTTPException(status.HTTP_409_CONFLICT, f"exam {exam_id} is {exam.modality}, not {modality}")
    return exam, latest_run(session, exam.id)


def raw_findings(run: AnalysisRun | None) -> dict[str, Any]:
    return dict(run.raw_findings or {}) if run else {}


@contextmanager
def readable_inputs(rt: Runtime, exam: Exam) -> Iterator[list[Path]]:
    """The exam's files its analyzer recognises, laid out in a temporary folder for the block's duration."""
    try:
        analyzer = analyzer_for_modality(exam.modality)
    except NoAnalyzer as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    with tempfile.TemporaryDirectory(prefix=f"view-{exam.id}-") as tmp:
        inputs = [p for p in exams.materialise(rt.store, exam, Path(tmp)) if analyzer.can_read(p)]
        if not inputs:
            raise HTTPException(status.HTTP_409_CONFLICT, f"no readable {exam.modality} file in this exam")
        yield inputs
