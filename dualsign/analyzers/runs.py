"""Which analysis an exam's findings, images and viewer data come from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.analyzers.models import AnalysisRun


def latest_run(session: Session, exam_id: int) -> AnalysisRun | None:
    """The latest successful analysis: the one whose findings the exam now carries."""
    return session.scalar(select(AnalysisRun).where(AnalysisRun.exam_id == exam_id,
                                                    AnalysisRun.outcome == "succeeded")
                          .order_by(AnalysisRun.id.desc()).limit(1))
