"""Analysis off the request path. The database is the queue's source of truth: an exam in 'queued'
is waiting, 'analyzing' is taken. Results are written in one transaction with the status change, so a
crash mid-analysis leaves nothing half-written and the exam is simply queued again on restart."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from dualsign.analyzers.base import AnalysisResult, Analyzer, AnalyzerError, ExamContext
from dualsign.analyzers.models import AnalysisRun
from dualsign.analyzers.registry import NoAnalyzer, analyzer_for_modality
from dualsign.audit import service as audit
from dualsign.db import Database, utcnow
from dualsign.exams import service as exams
from dualsign.exams.lifecycle import ExamStatus
from dualsign.exams.models import Exam
from dualsign.exams.store import FileStore
from dualsign.reports import service as reports
from dualsign.review import service as review
from dualsign.signing.keys import KeyPair

log = logging.getLogger(__name__)


def readable_inputs(analyzer: Analyzer, paths: list[Path]) -> list[Path]:
    return [p for p in paths if analyzer.can_read(p)]


def queue_received(session: Session, store: FileStore, exam: Exam) -> None:
    """Intake check after upload: queue the exam, or fail QC at once when no file is a readable input.

    The analyzer judges the stored files themselves (laid out under their names), not the names alone:
    a .dcm may be an ECG waveform or anything else."""
    try:
        analyzer = analyzer_for_modality(exam.modality)
    except NoAnalyzer as exc:
        exam.last_error = str(exc)
        exams.transition(session, exam, ExamStatus.QUEUED, reason="waiting for an analyzer")
        return
    with tempfile.TemporaryDirectory(prefix=f"intake-{exam.id}-") as tmp:
        readable = any(analyzer.can_read(p) for p in exams.materialise(store, exam, Path(tmp)))
    if not readable:
        reason = (f"none of the uploaded files ({', '.join(f.filename for f in exam.files)}) is a "
                  f"{exam.modality} input the {analyzer.card.name} analyzer can read")
        exam.qc_reasons = [reason]
        exams.transition(session, exam, ExamStatus.QC_FAILED, reason=reason)
        return
    exams.transition(session, exam, ExamStatus.QUEUED)


def recover_interrupted(db: Database) -> list[int]:
    """Exams left in 'analyzing' by a worker that died are queued again; their runs marked abandoned."""
    with db.session() as session:
        stuck = list(session.scalars(select(Exam).where(Exam.status == ExamStatus.ANALYZING)))
        for exam in stuck:
            for run in session.scalars(select(AnalysisRun).where(AnalysisRun.exam_id == exam.id,
                                                                 AnalysisRun.outcome == "running")):
                run.outcome = "abandoned"
                run.ended_at = utcnow()
                run.error = "the worker stopped during this analysis"
            exams.transition(session, exam, ExamStatus.QUEUED, reason="requeued after a worker restart")
            audit.record(session, audit.SYSTEM, "update", "exam", exam.id,
                         detail={"requeued": True, "reason": "worker restart"})
        return [e.id for e in stuck]


def requeue_stale(db: Database, lease_seconds: float, exam_ids: list[int] | None = None) -> list[int]:
    """Exams whose running analysis has not renewed its heartbeat for a whole lease are queued again.

    Safe with several workers sweeping at once: a live worker keeps its heartbeat fresh, so its exam is
    never taken, and each takeover is a conditional update that only one sweeper can win."""
    cutoff = utcnow() - dt.timedelta(seconds=lease_seconds)
    beat = func.coalesce(AnalysisRun.heartbeat_at, AnalysisRun.started_at)
    query = (select(AnalysisRun.id, AnalysisRun.exam_id).join(Exam, Exam.id == AnalysisRun.exam_id)
             .where(Exam.status == ExamStatus.ANALYZING, AnalysisRun.outcome == "running", beat < cutoff))
    if exam_ids is not None:
        query = query.where(AnalysisRun.exam_id.in_(exam_ids))
    requeued = []
    with db.session() as session:
        candidates = list(session.execute(query))
    for run_id, exam_id in candidates:
        with db.session() as session:
            taken = session.execute(
                update(AnalysisRun).where(AnalysisRun.id == run_id, AnalysisRun.outcome == "running", beat < cutoff)
                .values(outcome="abandoned", ended_at=utcnow(),
                        error=f"no heartbeat for {lease_seconds:g} s: the worker died during this analysis")
                .execution_options(synchronize_session=False))
            if getattr(taken, "rowcount", 0) != 1:
                continue  # another sweeper took it, or the run just finished
            exam = session.get(Exam, exam_id)
            assert exam is not None
            exams.transition(session, exam, ExamStatus.QUEUED, reason="requeued: its worker stopped responding")
            audit.record(session, audit.SYSTEM, "update", "exam", exam.id,
                         detail={"requeued": True, "reason": "stale analysis lease", "run": run_id})
        requeued.append(exam_id)
    return requeued


def queued_exam_ids(db: Database, limit: int = 100) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(Exam.id).where(Exam.status == ExamStatus.QUEUED)
                                    .order_by(Exam.received_at, Exam.id).limit(limit)))


def retry(session: Session, exam: Exam, actor: audit.Actor) -> None:
    if exam.status != ExamStatus.ANALYSIS_FAILED:
        raise ValueError(f"exam {exam.accession} is '{exam.status}': only a failed analysis can be retried")
    exams.transition(session, exam, ExamStatus.QUEUED, actor_id=actor.user_id, reason="retry")
    audit.record(session, actor, "update", "exam", exam.id, detail={"retry": True})


@contextmanager
def _heartbeat(db: Database, run_id: int, every: float) -> Iterator[None]:
    """Renew the run's heartbeat while the analysis runs, so that no sweeper takes it from us."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                with db.session() as session:
                    session.execute(update(AnalysisRun).where(AnalysisRun.id == run_id)
                                    .values(heartbeat_at=utcnow()).execution_options(synchronize_session=False))
            except Exception:  # a missed beat is retried; only a whole silent lease matters
                log.warning("heartbeat of analysis run %s failed", run_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"heartbeat-{run_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=every + 5)


def analyze_exam(db: Database, store: FileStore, service_key: KeyPair, exam_id: int,
                 lease_seconds: float = 120.0) -> str | None:
    """Claim and analyse one queued exam. Returns its new status, or None if it was not ours to take."""
    with db.session() as session:
        if not exams.claim_for_analysis(session, exam_id):
            return None
        exam = session.get(Exam, exam_id)
        assert exam is not None
        try:
            analyzer = analyzer_for_modality(exam.modality)
        except NoAnalyzer as exc:
            exam.last_error = str(exc)
            exams.transition(session, exam, ExamStatus.ANALYSIS_FAILED, reason=str(exc))
            return ExamStatus.ANALYSIS_FAILED
        card = analyzer.card
        run = AnalysisRun(exam_id=exam.id, analyzer=card.name, model_version=card.version,
                          weights_sha256=card.weights_sha256, model_card=card.to_dict(), heartbeat_at=utcnow())
        session.add(run)
        session.flush()
        run_id = run.id
    result: AnalysisResult | None = None
    unreadable: str | None = None
    failure: str | None = None
    try:
        with _heartbeat(db, run_id, lease_seconds / 4), \
                tempfile.TemporaryDirectory(prefix=f"exam-{exam_id}-") as tmp:
            with db.session() as session:
                exam = session.get(Exam, exam_id)
                assert exam is not None
                paths = exams.materialise(store, exam, Path(tmp))
                context = ExamContext(laterality=exam.laterality, prior_raw=prior_findings(session, exam))
            result = analyzer.analyze(readable_inputs(analyzer, paths) or paths, context)
    except AnalyzerError as exc:
        unreadable = str(exc)
    except Exception as exc:  # a bug or resource problem: recorded, retryable, never silent
        failure = f"{type(exc).__name__}: {exc}"
        log.error("analysis of exam %s failed:\n%s", exam_id, traceback.format_exc())
    attachments: dict[str, str] = {}
    if result is not None:
        # Stored before the result is recorded: content-addressed, so a retry rewrites nothing.
        attachments = {name: store.put_bytes(data)[0] for name, data in result.attachments.items()}
    return _finish(db, service_key, exam_id, run_id, result, unreadable, failure, attachments)


def prior_findings(session: Session, exam: Exam) -> dict[str, Any] | None:
    """The analyzer's findings for this patient's latest earlier exam of the same modality, for follow-up."""
    raw = session.scalar(
        select(AnalysisRun.raw_findings)
        .join(Exam, Exam.id == AnalysisRun.exam_id)
        .where(Exam.patient_id == exam.patient_id, Exam.modality == exam.modality, Exam.id != exam.id,
               Exam.received_at <= exam.received_at, AnalysisRun.outcome == "succeeded")
        .order_by(Exam.received_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    )
    return dict(raw) if raw else None


def _finish(db: Database, service_key: KeyPair, exam_id: int, run_id: int, result: AnalysisResult | None,
            unreadable: str | None, failure: str | None, attachments: dict[str, str] | None = None) -> str:
    with db.session() as session:
        exam = session.scalar(select(Exam).where(Exam.id == exam_id).with_for_update())
        run = session.scalar(select(AnalysisRun).where(AnalysisRun.id == run_id).with_for_update())
        assert exam is not None and run is not None
        if run.outcome != "running" or exam.status != ExamStatus.ANALYZING:
            # Our lease lapsed (e.g. a long stall) and the exam was requeued: the newer run owns it.
            log.warning("analysis run %s of exam %s was taken over; its result is discarded", run_id, exam_id)
            return exam.status
        run.ended_at = utcnow()
        if failure is not None or result is None and unreadable is None:
            run.outcome, run.error = "failed", failure or "no result"
            exam.last_error = run.error
            exams.transition(session, exam, ExamStatus.ANALYSIS_FAILED, reason=run.error)
        elif unreadable is not None:
            run.outcome, run.error = "failed", unreadable
            exam.qc_reasons = [unreadable]
            exams.transition(session, exam, ExamStatus.QC_FAILED, reason=unreadable)
        else:
            assert result is not None
            run.outcome = "succeeded"
            run.quality = {"usable": result.quality.usable, "reasons": list(result.quality.reasons)}
            run.raw_findings = result.raw
            run.attachments = dict(attachments or {})
            exam.urgency = result.urgency.value
            exam.ai_summary = result.summary
            if not result.quality.usable:
                exam.qc_reasons = list(result.quality.reasons) or ["not interpretable"]
                exams.transition(session, exam, ExamStatus.QC_FAILED, reason="; ".join(exam.qc_reasons))
            else:
                findings = review.store_ai_findings(session, exam, run.id, result.findings)
                reports.create_preliminary(session, exam, run, result, findings, service_key)
                exams.transition(session, exam, ExamStatus.PRELIMINARY)
        audit.record(session, audit.SYSTEM, "analyze", "exam", exam.id,
                     outcome="success" if run.outcome == "succeeded" else "failure",
                     detail={"run": run.id, "analyzer": run.analyzer, "status": exam.status,
                             "error": run.error})
        return exam.status
