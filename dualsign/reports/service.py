"""Report versions: the AI preliminary, the physician-signed final, amendments and retraction.

Each version's content is stored as the canonical JSON text that was signed. Nothing is updated in
place except a version's status when a newer one supersedes it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Site, User
from dualsign.analyzers.base import AnalysisResult
from dualsign.analyzers.models import AnalysisRun
from dualsign.analyzers.runs import latest_run
from dualsign.audit import service as audit
from dualsign.billing import service as billing
from dualsign.billing.catalogue import Catalogue
from dualsign.clock import china_today
from dualsign.exams import service as exams
from dualsign.exams.lifecycle import ExamStatus
from dualsign.exams.models import Exam
from dualsign.exams.store import FileStore
from dualsign.patients.models import Patient
from dualsign.reports.models import Report, ReportStatus
from dualsign.review import service as review
from dualsign.review.models import Finding
from dualsign.signing import service as signing
from dualsign.signing.canonical import canonical_json, sha256_hex
from dualsign.signing.keys import KeyPair

AI_DISCLAIMER = {
    "en": "AI preliminary report: not valid until reviewed and signed by a licensed physician.",
    "zh": "人工智能初步报告：经执业医师审核签名后方有效。",
}


class SignError(PermissionError):
    """Signing refused; the message says why."""


def current_report(session: Session, exam_id: int) -> Report | None:
    return session.scalar(select(Report).where(Report.exam_id == exam_id).order_by(Report.version.desc()))


def versions(session: Session, exam_id: int) -> list[Report]:
    return list(session.scalars(select(Report).where(Report.exam_id == exam_id).order_by(Report.version)))


def _header(session: Session, exam: Exam) -> dict[str, Any]:
    patient = session.get(Patient, exam.patient_id)
    site = session.get(Site, exam.site_id)
    assert patient is not None and site is not None
    return {
        "exam": {"accession": exam.accession, "modality": exam.modality, "site": site.code,
                 "site_name": site.name, "received_at": exam.received_at.isoformat()},
        "patient": {"medical_record_number": patient.medical_record_number, "name": patient.name,
                    "sex": patient.sex,
                    "birth_date": patient.birth_date.isoformat() if patient.birth_date else None},
    }


def _finding_view(f: Finding) -> dict[str, Any]:
    return {"finding_id": f.id, "kind": f.kind, "label": f.label, "code": f.code, "location": f.location,
            "measurements": f.measurements, "confidence": f.confidence, "abnormal": f.abnormal,
            "critical": f.critical}


def _new_version(session: Session, exam: Exam, content: dict[str, Any], status: str, *,
                 run_id: int | None = None, based_on: Report | None = None, reason: str | None = None,
                 author: User | None = None) -> Report:
    text = canonical_json(content)
    latest = session.scalar(select(func.max(Report.version)).where(Report.exam_id == exam.id)) or 0
    report = Report(exam_id=exam.id, version=latest + 1, status=status, content_json=text,
                    content_sha256=sha256_hex(text), analysis_run_id=run_id,
                    based_on_id=based_on.id if based_on else None, reason=reason,
                    created_by_id=author.id if author else None)
    session.add(report)
    session.flush()
    return report


def create_preliminary(session: Session, exam: Exam, run: AnalysisRun, result: AnalysisResult,
                       findings: list[Finding], service_key: KeyPair) -> Report:
    """Version 1: the AI's structured preliminary report, signed with the service key."""
    content = {
        **_header(session, exam),
        "kind": "ai-preliminary",
        "status": ReportStatus.PRELIMINARY.value,
        "disclaimer": AI_DISCLAIMER,
        "analyzer": {"name": run.analyzer, "model_version": run.model_version,
                     "weights_sha256": run.weights_sha256},
        "quality": {"usable": result.quality.usable, "reasons": list(result.quality.reasons)},
        "summary": result.summary,
        "urgency": result.urgency.value,
        "findings": [_finding_view(f) for f in findings],
        "structured": result.report,
    }
    report = _new_version(session, exam, content, ReportStatus.PRELIMINARY, run_id=run.id)
    signing.sign_as_ai(session, report, run, exam.accession, service_key)
    return report


def _require_signer(session: Session, exam: Exam, user: User, today: dt.date) -> None:
    why = accounts.may_sign_modality(user, exam.modality, today)
    if why:
        raise SignError(why)
    if user.site_id not in {exam.site_id, exam.reading_site_id}:
        raise SignError(f"{user.username} reads for another site: exam {exam.accession} is not theirs to sign")


def _physician(user: User) -> dict[str, Any]:
    return {"username": user.username, "name": user.full_name, "licence_number": user.licence_number}


def sign_final(session: Session, exam: Exam, user: User, password: str, actor: audit.Actor, *,
               impression: str, catalogue: Catalogue) -> Report:
    """The physician's co-signature: the report becomes final and the AI service becomes billable."""
    today = china_today()
    _require_signer(session, exam, user, today)
    if exam.status not in {ExamStatus.PRELIMINARY, ExamStatus.IN_REVIEW}:
        raise SignError(f"exam {exam.accession} is '{exam.status}': only a preliminary report can be signed")
    pending = review.unreviewed(session, exam.id)
    if pending:
        labels = ", ".join(f"#{f.id} {f.label}" for f in pending)
        raise SignError(f"{len(pending)} AI finding(s) not yet reviewed: {labels}")
    if not impression.strip():
        raise SignError("the physician's impression is required")
    preliminary = current_report(session, exam.id)
    assert preliminary is not None
    if exam.status == ExamStatus.PRELIMINARY:
        exams.transition(session, exam, ExamStatus.IN_REVIEW, actor_id=user.id)
    decisions = review.decisions_summary(session, exam.id)
    kept = [d for d in decisions if d["decision"] != "rejected"]
    prelim = json.loads(preliminary.content_json)
    content = {
        **_header(session, exam),
        "kind": "final",
        "status": ReportStatus.FINAL.value,
        "analyzer": prelim["analyzer"],
        "quality": prelim["quality"],
        "ai_summary": prelim["summary"],
        "findings": kept,
        "rejected_ai_findings": [d for d in decisions if d["decision"] == "rejected"],
        "impression": impression.strip(),
        "physician": _physician(user),
        "based_on": {"version": preliminary.version, "content_sha256": preliminary.content_sha256},
    }
    report = _new_version(session, exam, content, ReportStatus.FINAL, based_on=preliminary, author=user)
    _physician_signature(session, report, user, password, "physician-final", decisions, exam)
    exams.transition(session, exam, ExamStatus.FINAL, actor_id=user.id)
    patient = session.get(Patient, exam.patient_id)
    billing.charge_for_final_report(session, exam=exam, report=report,
                                    insurance_number=patient.insurance_number if patient else None,
                                    actor_id=user.id, catalogue=catalogue)
    audit.record(session, actor, "sign", "exam", exam.id,
                 detail={"exam": exam.accession, "report_id": report.id, "version": report.version})
    return report


def _physician_signature(session: Session, report: Report, user: User, password: str, purpose: str,
                         decisions: list[dict[str, Any]], exam: Exam) -> None:
    try:
        with session.begin_nested():
            signing.sign_as_physician(session, report, user, password, purpose=purpose,
                                      decisions=decisions, accession=exam.accession)
    except signing.SigningRefused as exc:
        raise SignError(str(exc)) from None
    except IntegrityError:
        raise SignError(f"exam {exam.accession} was signed by someone else at the same moment") from None


def _signed_current(session: Session, exam: Exam, action: str) -> Report:
    if exam.status not in {ExamStatus.FINAL, ExamStatus.AMENDED}:
        raise SignError(f"exam {exam.accession} is '{exam.status}': only a signed report can be {action}")
    report = current_report(session, exam.id)
    assert report is not None
    return report


def amend(session: Session, exam: Exam, user: User, password: str, actor: audit.Actor, *,
          reason: str, impression: str) -> Report:
    """A new signed version with a required reason; the previous one stays, superseded and verifiable."""
    if not reason.strip():
        raise SignError("an amendment needs a reason")
    _require_signer(session, exam, user, dt.datetime.now(dt.UTC).date())
    previous = _signed_current(session, exam, "amended")
    content = {**json.loads(previous.content_json), "kind": "amendment",
               "status": ReportStatus.FINAL.value, "impression": impression.strip() or None,
               "amendment": {"reason": reason.strip(), "amends_version": previous.version,
                             "amends_content_sha256": previous.content_sha256},
               "physician": _physician(user)}
    if not content["impression"]:
        raise SignError("the amended impression is required")
    report = _new_version(session, exam, content, ReportStatus.FINAL, based_on=previous,
                          reason=reason.strip(), author=user)
    _physician_signature(session, report, user, password, "physician-amendment",
                         review.decisions_summary(session, exam.id), exam)
    previous.status = ReportStatus.SUPERSEDED
    exams.transition(session, exam, ExamStatus.AMENDED, actor_id=user.id, reason=reason.strip())
    audit.record(session, actor, "amend", "exam", exam.id,
                 detail={"exam": exam.accession, "report_id": report.id, "version": report.version,
                         "reason": reason.strip()})
    return report


def retract(session: Session, exam: Exam, user: User, password: str, actor: audit.Actor, *,
            reason: str) -> Report:
    """Withdraw a signed report (e.g. wrong patient): a signed retraction version, and the claim reversed."""
    if not reason.strip():
        raise SignError("a retraction needs a reason")
    _require_signer(session, exam, user, dt.datetime.now(dt.UTC).date())
    previous = _signed_current(session, exam, "retracted")
    content = {**_header(session, exam), "kind": "retraction", "status": ReportStatus.RETRACTED.value,
               "retracts": {"version": previous.version, "content_sha256": previous.content_sha256},
               "reason": reason.strip(), "physician": _physician(user)}
    report = _new_version(session, exam, content, ReportStatus.RETRACTED, based_on=previous,
                          reason=reason.strip(), author=user)
    _physician_signature(session, report, user, password, "physician-retraction", [], exam)
    previous.status = ReportStatus.SUPERSEDED
    exams.transition(session, exam, ExamStatus.RETRACTED, actor_id=user.id, reason=reason.strip())
    billing.reverse_charge(session, exam=exam, report=report, reason=reason.strip(), actor_id=user.id)
    audit.record(session, actor, "retract", "exam", exam.id,
                 detail={"exam": exam.accession, "report_id": report.id, "version": report.version,
                         "reason": reason.strip()})
    return report


def key_images(session: Session, store: FileStore, exam_id: int, content: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Key images (name, PNG) of the findings a report version keeps; a rejected false positive brings none."""
    kept = {f.get("finding_id") for f in content.get("findings", [])}
    wanted = [str(f.location["key_image"]) for f in review.findings_of(session, exam_id)
              if f.id in kept and (f.location or {}).get("key_image")]
    run = latest_run(session, exam_id)
    stored = dict(run.attachments or {}) if run else {}
    return [(name, store.path_for(stored[name]).read_bytes()) for name in wanted
            if name in stored and store.verify(stored[name])]
