"""The physician's review: a decision on every AI finding, additions of misses, and the worklist."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session

from dualsign.accounts.models import Role, User
from dualsign.analyzers.base import Finding as AIFinding
from dualsign.audit import service as audit
from dualsign.db import utcnow
from dualsign.exams import service as exams
from dualsign.exams.lifecycle import ExamStatus
from dualsign.exams.models import Exam
from dualsign.review.models import Finding, FindingDecision, ReviewState

REVIEWABLE = {ExamStatus.PRELIMINARY, ExamStatus.IN_REVIEW}


class ReviewError(ValueError):
    pass


def store_ai_findings(session: Session, exam: Exam, run_id: int, findings: Sequence[AIFinding]) -> list[Finding]:
    rows = [
        Finding(
            exam_id=exam.id,
            analysis_run_id=run_id,
            kind=f.kind,
            label=f.label,
            code=f.code,
            location=dict(f.location),
            ai_measurements=dict(f.measurements),
            measurements=dict(f.measurements),
            confidence=f.confidence,
            abnormal=f.abnormal,
            critical=f.critical,
            review_state=ReviewState.PROPOSED,
        )
        for f in findings
    ]
    session.add_all(rows)
    session.flush()
    return rows


def findings_of(session: Session, exam_id: int) -> list[Finding]:
    return list(session.scalars(select(Finding).where(Finding.exam_id == exam_id).order_by(Finding.id)))


def unreviewed(session: Session, exam_id: int) -> list[Finding]:
    return [f for f in findings_of(session, exam_id) if f.review_state == ReviewState.PROPOSED]


def _start_review(session: Session, exam: Exam, user: User) -> None:
    if exam.status not in REVIEWABLE:
        raise ReviewError(f"exam {exam.accession} is '{exam.status}': findings can be reviewed only "
                          "while the report is preliminary or in review")
    if exam.status == ExamStatus.PRELIMINARY:
        exams.transition(session, exam, ExamStatus.IN_REVIEW, actor_id=user.id)


def decide(
    session: Session,
    exam: Exam,
    finding: Finding,
    user: User,
    actor: audit.Actor,
    *,
    state: str,
    reason: str | None = None,
    measurements: dict[str, Any] | None = None,
) -> Finding:
    """Accept, reject (with a reason) or edit one finding. Changing one's mind is allowed until signing;
    every decision is kept."""
    if finding.exam_id != exam.id:
        raise ReviewError(f"finding {finding.id} does not belong to exam {exam.accession}")
    try:
        new_state = ReviewState(state)
    except ValueError:
        raise ReviewError(f"unknown decision {state!r}; expected accepted, rejected or edited") from None
    if new_state not in {ReviewState.ACCEPTED, ReviewState.REJECTED, ReviewState.EDITED}:
        raise ReviewError(f"decision {state!r} cannot be made on an existing finding")
    if new_state == ReviewState.REJECTED and not (reason and reason.strip()):
        raise ReviewError("rejecting a finding needs a reason")
    if new_state == ReviewState.EDITED:
        if not measurements:
            raise ReviewError("an edit needs the corrected measurements")
        unknown = set(measurements) - set(finding.ai_measurements) - set(finding.measurements)
        if unknown and finding.analysis_run_id is not None:
            raise ReviewError(f"unknown measurement(s) {sorted(unknown)} for this finding")
    _start_review(session, exam, user)
    now = utcnow()
    if finding.review_state == ReviewState.ADDED:
        # A physician-added finding stays 'added'; edits update its measurements.
        if new_state == ReviewState.REJECTED:
            finding.review_state = ReviewState.REJECTED
    else:
        finding.review_state = new_state
    if new_state == ReviewState.EDITED and measurements:
        finding.measurements = {**finding.measurements, **measurements}
    finding.reject_reason = reason if new_state == ReviewState.REJECTED else None
    finding.reviewed_by_id = user.id
    finding.reviewed_at = now
    session.add(FindingDecision(finding_id=finding.id, state=new_state, reason=reason,
                                measurements=measurements, actor_id=user.id, at=now))
    audit.record(session, actor, "review", "finding", finding.id,
                 detail={"exam": exam.accession, "decision": new_state.value, "reason": reason})
    return finding


def add_finding(
    session: Session,
    exam: Exam,
    user: User,
    actor: audit.Actor,
    *,
    kind: str,
    label: str,
    code: str | None = None,
    location: dict[str, Any] | None = None,
    measurements: dict[str, Any] | None = None,
    abnormal: bool = True,
) -> Finding:
    """A finding the AI missed, added by the physician."""
    if not label.strip():
        raise ReviewError("an added finding needs a label")
    _start_review(session, exam, user)
    now = utcnow()
    row = Finding(exam_id=exam.id, analysis_run_id=None, kind=kind, label=label, code=code,
                  location=location or {}, ai_measurements={}, measurements=measurements or {},
                  confidence=None, abnormal=abnormal, critical=False, review_state=ReviewState.ADDED,
                  reviewed_by_id=user.id, reviewed_at=now)
    session.add(row)
    session.flush()
    session.add(FindingDecision(finding_id=row.id, state=ReviewState.ADDED, measurements=measurements,
                                actor_id=user.id, at=now))
    audit.record(session, actor, "review", "finding", row.id,
                 detail={"exam": exam.accession, "decision": "added", "label": label})
    return row


def decisions_summary(session: Session, exam_id: int) -> list[dict[str, Any]]:
    """What the physician decided on each finding, as signed into the final report."""
    return [
        {
            "finding_id": f.id,
            "kind": f.kind,
            "label": f.label,
            "code": f.code,
            "origin": "physician" if f.analysis_run_id is None else "ai",
            "decision": f.review_state,
            "reason": f.reject_reason,
            "ai_measurements": f.ai_measurements,
            "measurements": f.measurements,
            "reviewed_by": f.reviewed_by_id,
            "reviewed_at": f.reviewed_at.isoformat() if f.reviewed_at else None,
        }
        for f in findings_of(session, exam_id)
    ]


URGENCY_RANK = case({"critical": 0, "urgent": 1}, value=Exam.urgency, else_=2)
PRIORITY_RANK = case({"stat": 0, "urgent": 1}, value=Exam.priority, else_=2)


def worklist_query(
    user: User, statuses: Sequence[str] = (ExamStatus.PRELIMINARY, ExamStatus.IN_REVIEW)
) -> Select[Exam]:
    """Exams this physician may read: their own site's and those routed to their site, most urgent
    first, then longest waiting. Qualification is checked per modality."""
    if user.role != Role.PHYSICIAN:
        raise ReviewError("the worklist is for physicians")
    return (
        select(Exam)
        .where(
            or_(Exam.site_id == user.site_id, Exam.reading_site_id == user.site_id),
            Exam.status.in_([str(s) for s in statuses]),
            Exam.modality.in_(list(user.qualified_modalities or [])),
        )
        .order_by(URGENCY_RANK, PRIORITY_RANK, Exam.received_at, Exam.id)
    )
