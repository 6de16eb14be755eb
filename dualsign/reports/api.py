"""Report versions, the physician's signature, amendment, retraction and verification."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from dualsign.accounts.models import Role
from dualsign.audit import service as audit
from dualsign.billing.errors import BillingError
from dualsign.exams.api import load_exam
from dualsign.http import Principal, RuntimeDep, fail, require_roles
from dualsign.reports import pdf
from dualsign.reports import service as reports
from dualsign.reports.models import Report
from dualsign.signing import service as signing
from dualsign.signing.models import Signature

router = APIRouter(prefix="/api", tags=["reports"])

Physician = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN))]
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


def report_view(session: Any, report: Report, service_keys: set[str]) -> dict[str, Any]:
    sigs = session.scalars(select(Signature).where(Signature.report_id == report.id)).all()
    problems = signing.verify_report(session, report, service_keys)
    return {
        "id": report.id, "version": report.version, "status": report.status, "reason": report.reason,
        "created_at": report.created_at.isoformat(), "content_sha256": report.content_sha256,
        "content": json.loads(report.content_json),
        "signatures": [
            {"kind": s.signer_kind, "signer": s.signer_name, "licence_number": s.licence_number,
             "algorithm": s.algorithm, "public_key": s.public_key, "signature": s.signature,
             "payload_sha256": s.payload_sha256, "signed_at": s.signed_at.isoformat()}
            for s in sigs
        ],
        "verified": not problems,
        "problems": problems,
    }


@router.get("/exams/{exam_id}/reports")
def list_reports(exam_id: int, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id)
        items = [report_view(session, r, rt.service_public_keys) for r in reports.versions(session, exam.id)]
        audit.record(session, principal.actor, "read", "report", None,
                     detail={"exam": exam.accession, "versions": len(items)})
    return {"exam_id": exam_id, "count": len(items), "items": items}


class SignRequest(BaseModel):
    password: str = Field(description="the physician's password, re-entered to unlock their signing key")
    impression: str


class AmendRequest(BaseModel):
    password: str
    reason: str
    impression: str


class RetractRequest(BaseModel):
    password: str
    reason: str


def _signed(rt: Any, principal: Principal, exam_id: int, action: str, work: Any) -> dict[str, Any]:
    try:
        with rt.db.session() as session:
            exam = load_exam(rt, session, principal, exam_id, lock=True)
            report = work(session, exam)
            return report_view(session, report, rt.service_public_keys)
    except (reports.SignError, BillingError) as exc:
        fail(rt, principal, action, "exam", exam_id, str(exc), status.HTTP_409_CONFLICT)


@router.post("/exams/{exam_id}/sign")
def sign(exam_id: int, body: SignRequest, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    return _signed(rt, principal, exam_id, "sign", lambda s, exam: reports.sign_final(
        s, exam, principal.user, body.password, principal.actor, impression=body.impression,
        catalogue=rt.catalogue))


@router.post("/exams/{exam_id}/amend")
def amend(exam_id: int, body: AmendRequest, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    return _signed(rt, principal, exam_id, "amend", lambda s, exam: reports.amend(
        s, exam, principal.user, body.password, principal.actor, reason=body.reason,
        impression=body.impression))


@router.post("/exams/{exam_id}/retract")
def retract(exam_id: int, body: RetractRequest, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    return _signed(rt, principal, exam_id, "retract", lambda s, exam: reports.retract(
        s, exam, principal.user, body.password, principal.actor, reason=body.reason))


@router.get("/exams/{exam_id}/reports/{version}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def report_pdf(exam_id: int, version: int, rt: RuntimeDep, principal: Physician,
               lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh") -> Response:
    """One report version as PDF (Chinese or English), with both signatures and whether they verify."""
    with rt.db.session() as session:
        exam = load_exam(rt, session, principal, exam_id)
        versions = {r.version: r for r in reports.versions(session, exam.id)}
        report = versions.get(version)
        if report is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"exam {exam_id} has no report version {version}")
        content = json.loads(report.content_json)
        owners = [report]
        if based := content.get("based_on"):
            owners.insert(0, versions[based["version"]])  # the AI half of the dual signature
        lines = []
        for owner in owners:
            problems = signing.verify_report(session, owner, rt.service_public_keys)
            lines += [pdf.SignatureLine(s.signer_kind, s.signer_name, s.licence_number, s.algorithm,
                                        s.signed_at.isoformat(), not problems, problems)
                      for s in session.scalars(select(Signature).where(Signature.report_id == owner.id))]
        images = reports.key_images(session, rt.store, exam.id, content)
        audit.record(session, principal.actor, "export", "report", report.id,
                     detail={"exam": exam.accession, "version": version, "format": "pdf", "lang": lang})
    data = pdf.render(content, status=report.status, version=report.version, content_sha256=report.content_sha256,
                      reason=report.reason, signatures=lines, images=images, lang=lang,
                      font=rt.pdf_font)
    name = f"{content.get('exam', {}).get('accession', exam_id)}-v{version}-{lang}.pdf"
    return Response(data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


@router.get("/verify")
def verify(rt: RuntimeDep, principal: Admin) -> dict[str, Any]:
    """Re-check every signature and content hash; name every report that no longer matches."""
    with rt.db.session() as session:
        checked, problems = signing.verify_all(session, rt.service_public_keys)
        audit.record(session, principal.actor, "verify", "report", None,
                     outcome="success" if not problems else "failure",
                     detail={"checked": checked, "problems": len(problems)})
    return {"checked": checked, "intact": not problems, "problems": [p.__dict__ for p in problems]}
