"""The physician's worklist and per-finding review actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import selectinload

from dualsign.accounts.models import Role
from dualsign.audit import service as audit
from dualsign.exams.api import exam_views, load_exam
from dualsign.exams.lifecycle import ExamStatus
from dualsign.exams.models import Exam
from dualsign.http import Principal, RuntimeDep, require_roles
from dualsign.review import service as review
from dualsign.review.models import Finding

router = APIRouter(prefix="/api", tags=["review"])

Physician = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN))]


def finding_view(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id, "kind": f.kind, "label": f.label, "code": f.code, "location": f.location,
        "ai_measurements": f.ai_measurements, "measurements": f.measurements, "confidence": f.confidence,
        "abnormal": f.abnormal, "critical": f.critical, "origin": "ai" if f.analysis_run_id else "physician",
        "review_state": f.review_state, "reject_reason": f.reject_reason, "reviewed_by_id": f.reviewed_by_id,
        "reviewed_at": f.reviewed_at.isoformat() if f.reviewed_at else None,
    }


@router.get("/worklist")
def worklist(
    rt: RuntimeDep,
    principal: Physician,
    modality: str | None = None,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> dict[str, Any]:
    """Exams this physician may sign: most urgent AI result first, then longest waiting."""
    statuses = status_ or [ExamStatus.PRELIMINARY, ExamStatus.IN_REVIEW]
    with rt.db.session() as session:
        query = review.worklist_query(principal.user, statuses)
        if modality:
            query = query.where(Exam.modality == modality)
        rows = session.scalars(query.options(selectinload(Exam.files)).limit(limit)).all()
        counts: dict[str, int] = {}
        items = exam_views(session, list(rows))
        for item in items:
            counts[item["urgency"] or "unknown"] = counts.get(item["urgency"] or "unknown", 0) + 1
        audit.record(session, principal.actor, "read", "worklist", None, detail={"count": len(items)})
    return {"count": len(items), "by_urgency": counts, "items": items}


@router.get("/exams/{exam_id}/findings")
def list_findings(exam_id: int, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id)
        items = [finding_view(f) for f in review.findings_of(session, exam.id)]
        audit.record(session, principal.actor, "read", "finding", None,
                     detail={"exam": exam.accession, "count": len(items)})
    return {"exam_id": exam_id, "count": len(items), "items": items}


class Decision(BaseModel):
    decision: str = Field(description="accepted, rejected or edited")
    reason: str | None = Field(default=None, description="required when rejecting")
    measurements: dict[str, Any] | None = Field(default=None, description="corrected values when editing")


@router.post("/exams/{exam_id}/findings/{finding_id}/decision")
def decide(exam_id: int, finding_id: int, body: Decision, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id, lock=True)
        finding = session.get(Finding, finding_id)
        if finding is None or finding.exam_id != exam.id:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"exam {exam_id} has no finding {finding_id}")
        try:
            review.decide(session, exam, finding, principal.user, principal.actor, state=body.decision,
                          reason=body.reason, measurements=body.measurements)
        except review.ReviewError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return finding_view(finding)


class NewFinding(BaseModel):
    kind: str
    label: str
    code: str | None = None
    location: dict[str, Any] = Field(default_factory=dict)
    measurements: dict[str, Any] = Field(default_factory=dict)
    abnormal: bool = True


@router.post("/exams/{exam_id}/findings", status_code=status.HTTP_201_CREATED)
def add_finding(exam_id: int, body: NewFinding, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id, lock=True)
        try:
            row = review.add_finding(session, exam, principal.user, principal.actor, kind=body.kind,
                                     label=body.label, code=body.code, location=body.location,
                                     measurements=body.measurements, abnormal=body.abnormal)
        except review.ReviewError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        return finding_view(row)
