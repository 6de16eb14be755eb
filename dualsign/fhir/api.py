"""Read-only FHIR R4 endpoints under /fhir/, with the exam API's role and site rules; every read audited.

Roles: physicians (their site's exams and those routed to them) and technologists (their own site's
exams: the sending site, e.g. a township clinic with no physician, needs the signed report back for
its HIS); billing, auditors and admins see no clinical content, as in the exam API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.accounts.models import Role
from dualsign.audit import service as audit
from dualsign.exams.access import exam_filter
from dualsign.exams.models import Exam
from dualsign.fhir import service as fhir
from dualsign.http import Principal, RuntimeDep, deny, require_roles
from dualsign.reports import service as reports
from dualsign.runtime import Runtime

router = APIRouter(prefix="/fhir", tags=["fhir"])
Reader = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN, Role.TECHNOLOGIST))]
FHIR_JSON = "application/fhir+json"


def _answer(resource: dict[str, Any]) -> JSONResponse:
    return JSONResponse(resource, media_type=FHIR_JSON)


def _exam(rt: Runtime, session: Session, principal: Principal, accession: str, kind: str) -> Exam:
    exam = session.scalar(select(Exam).where(Exam.accession == accession))
    if exam is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {kind}/{accession}")
    if session.scalar(select(Exam.id).where(Exam.id == exam.id, exam_filter(session, principal.user))) is None:
        deny(rt, principal, "read", f"fhir:{kind}", accession, "this exam belongs to another site")
    return exam


def _read(session: Session, principal: Principal, kind: str, resource_id: str, exam: Exam) -> None:
    audit.record(session, principal.actor, "read", f"fhir:{kind}", resource_id,
                 detail={"exam": exam.accession, "patient": exam.patient_id})


def _accession(resource_id: str) -> str:
    return resource_id.rsplit("-", 1)[0] if "-" in resource_id else resource_id


@router.get("/DiagnosticReport/{resource_id}")
def read_report(resource_id: str, rt: RuntimeDep, principal: Reader) -> JSONResponse:
    with rt.db.session() as session:
        exam = _exam(rt, session, principal, resource_id, "DiagnosticReport")
        resource = fhir.diagnostic_report(session, exam)
        _read(session, principal, "DiagnosticReport", resource_id, exam)
    return _answer(resource)


@router.get("/DiagnosticReport")
def search_reports(request: Request, rt: RuntimeDep, principal: Reader,
                   subject: Annotated[str, Query(description="Patient/{id} or {id}")]) -> JSONResponse:
    patient = subject.removeprefix("Patient/")
    if not patient.isdigit():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "subject must be Patient/{id}")
    with rt.db.session() as session:
        exams = list(session.scalars(select(Exam).where(Exam.patient_id == int(patient),
                                                        exam_filter(session, principal.user)).order_by(Exam.id)))
        entries = [fhir.diagnostic_report(session, e) for e in exams]
        audit.record(session, principal.actor, "read", "fhir:DiagnosticReport", None,
                     detail={"subject": subject, "count": len(entries)})
    return _answer(fhir.bundle(entries, str(request.base_url).rstrip("/") + "/fhir"))


@router.get("/Observation/{resource_id}")
def read_observation(resource_id: str, rt: RuntimeDep, principal: Reader) -> JSONResponse:
    with rt.db.session() as session:
        exam = _exam(rt, session, principal, _accession(resource_id), "Observation")
        found = [o for o in fhir.observations(session, exam) if o["id"] == resource_id]
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no Observation/{resource_id}")
        _read(session, principal, "Observation", resource_id, exam)
    return _answer(found[0])


@router.get("/ImagingStudy/{resource_id}")
def read_imaging_study(resource_id: str, rt: RuntimeDep, principal: Reader) -> JSONResponse:
    with rt.db.session() as session:
        exam = _exam(rt, session, principal, resource_id, "ImagingStudy")
        resource = fhir.imaging_study(session, exam)
        if resource is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"exam {resource_id} is not an imaging study")
        _read(session, principal, "ImagingStudy", resource_id, exam)
    return _answer(resource)


@router.get("/Provenance/{resource_id}")
def read_provenance(resource_id: str, rt: RuntimeDep, principal: Reader) -> JSONResponse:
    accession, _, version = resource_id.rpartition("-v")
    with rt.db.session() as session:
        exam = _exam(rt, session, principal, accession, "Provenance")
        found = [r for r in reports.versions(session, exam.id) if str(r.version) == version]
        if not found:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no Provenance/{resource_id}")
        resource = fhir.provenance(session, exam, found[0])
        _read(session, principal, "Provenance", resource_id, exam)
    return _answer(resource)


@router.get("/Provenance")
def search_provenance(request: Request, rt: RuntimeDep, principal: Reader,
                      target: Annotated[str, Query(description="DiagnosticReport/{id}")]) -> JSONResponse:
    accession = target.removeprefix("DiagnosticReport/").split("/_history/")[0]
    with rt.db.session() as session:
        exam = _exam(rt, session, principal, accession, "Provenance")
        entries = fhir.provenances(session, exam)
        _read(session, principal, "Provenance", f"target={accession}", exam)
    return _answer(fhir.bundle(entries, str(request.base_url).rstrip("/") + "/fhir"))
