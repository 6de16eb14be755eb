"""Exam upload, status and listing, retry of a failed analysis."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Response, UploadFile, status
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dualsign.accounts.models import Role, Site
from dualsign.analyzers.runs import latest_run
from dualsign.audit import service as audit
from dualsign.exams import service as exams
from dualsign.exams.access import exam_filter, may_view
from dualsign.exams.models import Exam, ExamTransition
from dualsign.http import Principal, RuntimeDep, deny, require_roles
from dualsign.patients import service as patients
from dualsign.runtime import Runtime
from dualsign.worker import service as worker

router = APIRouter(prefix="/api", tags=["exams"])

Uploader = Annotated[Principal, Depends(require_roles(Role.TECHNOLOGIST, Role.PHYSICIAN))]
ExamReader = Annotated[Principal, Depends(require_roles(Role.TECHNOLOGIST, Role.PHYSICIAN, Role.QC_OFFICER))]
Retrier = Annotated[Principal, Depends(require_roles(Role.TECHNOLOGIST, Role.QC_OFFICER))]


def exam_view(session: Session, exam: Exam, *, with_patient: bool = True) -> dict[str, Any]:
    site = session.get(Site, exam.site_id)
    reading = session.get(Site, exam.reading_site_id)
    view: dict[str, Any] = {
        "id": exam.id, "accession": exam.accession, "modality": exam.modality, "status": exam.status,
        "priority": exam.priority, "laterality": exam.laterality, "urgency": exam.urgency,
        "ai_summary": exam.ai_summary,
        "qc_reasons": exam.qc_reasons, "last_error": exam.last_error,
        "site": site.code if site else None, "reading_site": reading.code if reading else None,
        "received_at": exam.received_at.isoformat(),
        "waiting_minutes": int((dt.datetime.now(dt.UTC) - exam.received_at).total_seconds() // 60),
        "files": [{"filename": f.filename, "sha256": f.sha256, "size_bytes": f.size_bytes} for f in exam.files],
    }
    if with_patient:
        view["patient"] = patients.view(session, exam.patient_id)
    return view


def exam_views(session: Session, rows: list[Exam], *, with_patient: bool = True) -> list[dict[str, Any]]:
    """Views of many exams with a constant number of queries (worklists run to thousands of rows)."""
    if with_patient:
        patients.preload(session, [e.patient_id for e in rows])
    return [exam_view(session, e, with_patient=with_patient) for e in rows]


def load_exam(rt: Runtime, session: Session, principal: Principal, exam_id: int, *,
              lock: bool = False) -> Exam:
    """The exam if this principal may see it; 404 for one that does not exist, 403 (audited) otherwise."""
    query = select(Exam).where(Exam.id == exam_id)
    exam = session.scalar(query.with_for_update() if lock else query)
    if exam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no exam {exam_id}")
    if not may_view(session, principal.user, exam):
        deny(rt, principal, "read", "exam", exam_id, "this exam belongs to another site")
    return exam


@router.post("/exams", status_code=status.HTTP_201_CREATED)
def upload_exam(
    response: Response,
    rt: RuntimeDep,
    principal: Uploader,
    files: Annotated[list[UploadFile], File(description="the exam's files (e.g. a WFDB .hea and .dat)")],
    modality: Annotated[str, Form()],
    patient_mrn: Annotated[str, Form(description="medical record number at the sending site")],
    patient_name: Annotated[str, Form()],
    patient_sex: Annotated[str, Form(pattern="^[FMOU]$")] = "U",
    patient_birth_date: Annotated[dt.date | None, Form()] = None,
    insurance_number: Annotated[str | None, Form()] = None,
    priority: Annotated[str, Form()] = "routine",
    laterality: Annotated[str | None, Form(description="R or L: the eye, for a fundus photo whose file "
                                                      "does not say")] = None,
) -> dict[str, Any]:
    incoming = [exams.IncomingFile(f.filename or "", f.file) for f in files]
    try:
        with rt.db.session() as session:
            site = session.get(Site, principal.site_id)
            assert site is not None
            patient = patients.find_or_create(session, principal.actor, site_id=site.id, mrn=patient_mrn,
                                              name=patient_name, sex=patient_sex, birth_date=patient_birth_date,
                                              insurance_number=insurance_number)
            exam, created = exams.receive(session, rt.store, files=incoming, modality=modality, site=site,
                                          patient=patient, actor=principal.actor, priority=priority,
                                          laterality=laterality or None)
            if created:
                worker.queue_received(session, rt.store, exam)
            view = exam_view(session, exam)
            view["duplicate"] = not created
    except (exams.IntakeError, patients.PatientError) as exc:
        audit.record_separately(rt.db, principal.actor, "create", "exam", None, outcome="failure",
                                detail={"why": str(exc)})
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from None
    if created:
        rt.notify(view["id"])
    else:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/exams")
def list_exams(
    rt: RuntimeDep,
    principal: ExamReader,
    status_: Annotated[list[str] | None, Query(alias="status")] = None,
    modality: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Exams of the caller's site(s), newest first; e.g. ?status=qc_failed for retake requests."""
    with rt.db.session() as session:
        query = select(Exam).where(exam_filter(session, principal.user))
        if status_:
            query = query.where(Exam.status.in_(status_))
        if modality:
            query = query.where(Exam.modality == modality)
        rows = session.scalars(query.options(selectinload(Exam.files))
                               .order_by(Exam.received_at.desc(), Exam.id.desc()).limit(limit)).all()
        items = exam_views(session, list(rows), with_patient=False)
        audit.record(session, principal.actor, "read", "exam-list", None,
                     detail={"count": len(items), "status": status_})
    return {"count": len(items), "items": items}


@router.get("/exams/{exam_id}")
def get_exam(exam_id: int, rt: RuntimeDep, principal: ExamReader) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id)
        view = exam_view(session, exam)
        view["history"] = [
            {"from": t.from_status, "to": t.to_status, "at": t.at.isoformat(), "actor_id": t.actor_id,
             "reason": t.reason}
            for t in session.scalars(select(ExamTransition).where(ExamTransition.exam_id == exam.id)
                                     .order_by(ExamTransition.id))
        ]
        run = latest_run(session, exam.id)
        view["images"] = sorted(run.attachments) if run else []
        audit.record(session, principal.actor, "read", "exam", exam.id, detail={"patient": exam.patient_id})
    return view


@router.get("/exams/{exam_id}/images/{name}", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def exam_image(exam_id: int, name: str, rt: RuntimeDep, principal: ExamReader) -> Response:
    """An image the AI made for this exam (e.g. a nodule's key image), by the name the findings give."""
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id)
        run = latest_run(session, exam.id)
        sha = (run.attachments or {}).get(name) if run else None
        if sha is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"exam {exam_id} has no image {name!r}")
        audit.record(session, principal.actor, "read", "exam-image", exam.id, detail={"name": name})
    path = rt.store.path_for(sha)
    if not rt.store.verify(sha):
        raise HTTPException(status.HTTP_500_INTERNAL_SERVER_ERROR,
                            f"stored image {name!r} of exam {exam_id} fails its checksum; tell hospital IT")
    return Response(path.read_bytes(), media_type="image/png")


@router.post("/exams/{exam_id}/retry")
def retry_exam(exam_id: int, rt: RuntimeDep, principal: Retrier) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id, lock=True)
        try:
            worker.retry(session, exam, principal.actor)
        except ValueError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        view = exam_view(session, exam, with_patient=False)
    rt.notify(exam_id)
    return view
