"""Signatures on report versions: the AI's on the preliminary, the physician's on final versions.

The physician signs the final content, their decision on each finding, and the AI signature the
report builds on, so neither half of the dual signature can be swapped without detection.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.accounts.models import User
from dualsign.analyzers.models import AnalysisRun
from dualsign.reports.models import Report, ReportStatus
from dualsign.signing.canonical import canonical_json, sha256_hex
from dualsign.signing.keys import KeyPair, WrongPassword, unseal_private_key
from dualsign.signing.models import Signature
from dualsign.signing.payload import SignedPayload, sign_payload, verify_payload

AI = "ai"
PHYSICIAN = "physician"


class SigningRefused(PermissionError):
    pass


def _store(session: Session, report: Report, kind: str, signed: SignedPayload, *, name: str,
           user: User | None = None) -> Signature:
    sig = Signature(
        report_id=report.id,
        signer_kind=kind,
        signer_user_id=user.id if user else None,
        signer_name=name,
        licence_number=user.licence_number if user else None,
        algorithm=signed.algorithm,
        public_key=signed.public_key,
        payload_json=signed.payload_json,
        payload_sha256=signed.payload_sha256,
        signature=signed.signature,
    )
    session.add(sig)
    session.flush()
    return sig


def ai_payload(report: Report, run: AnalysisRun, accession: str) -> dict[str, Any]:
    return {
        "purpose": "ai-preliminary",
        "exam": accession,
        "report_version": report.version,
        "content_sha256": report.content_sha256,
        "content": json.loads(report.content_json),
        "analyzer": run.analyzer,
        "model_version": run.model_version,
        "weights_sha256": run.weights_sha256,
    }


def sign_as_ai(session: Session, report: Report, run: AnalysisRun, accession: str,
               service_key: KeyPair) -> Signature:
    signed = sign_payload(service_key, ai_payload(report, run, accession))
    return _store(session, report, AI, signed, name=f"{run.analyzer} {run.model_version}")


def ai_signature_of(session: Session, report: Report) -> Signature:
    """The AI signature a report version builds on: its own, or that of the preliminary it derives from."""
    current: Report | None = report
    while current is not None:
        sig = session.scalar(select(Signature).where(Signature.report_id == current.id,
                                                     Signature.signer_kind == AI))
        if sig is not None:
            return sig
        current = session.get(Report, current.based_on_id) if current.based_on_id else None
    raise LookupError(f"report {report.id} builds on no AI-signed preliminary report")


def physician_payload(report: Report, user: User, purpose: str, decisions: list[dict[str, Any]],
                      ai_sig: Signature, accession: str, signed_at: dt.datetime) -> dict[str, Any]:
    return {
        "purpose": purpose,
        "exam": accession,
        "report_version": report.version,
        "content_sha256": report.content_sha256,
        "content": json.loads(report.content_json),
        "decisions": decisions,
        "ai_signature": {
            "algorithm": ai_sig.algorithm,
            "public_key": ai_sig.public_key,
            "payload_sha256": ai_sig.payload_sha256,
            "signature": ai_sig.signature,
        },
        "physician": {"username": user.username, "name": user.full_name,
                      "licence_number": user.licence_number},
        "signed_at": signed_at.isoformat(),
    }


def sign_as_physician(session: Session, report: Report, user: User, password: str, *, purpose: str,
                      decisions: list[dict[str, Any]], accession: str) -> Signature:
    """Unseal the physician's key with the re-entered password, sign, and forget the key."""
    if not user.sealed_private_key or not user.public_key or not user.key_algorithm:
        raise SigningRefused(f"{user.username} has no signing key")
    try:
        private = unseal_private_key(user.sealed_private_key, password)
    except WrongPassword:
        raise SigningRefused("wrong password: signing needs the signer's password re-entered") from None
    pair = KeyPair(algorithm=user.key_algorithm, public_key=user.public_key, private_key=private)
    payload = physician_payload(report, user, purpose, decisions, ai_signature_of(session, report),
                                accession, dt.datetime.now(dt.UTC))
    signed = sign_payload(pair, payload)
    del pair, private
    return _store(session, report, PHYSICIAN, signed, name=user.full_name, user=user)


@dataclass(frozen=True)
class Problem:
    report_id: int
    exam_id: int
    version: int
    problem: str


def verify_report(session: Session, report: Report, service_public_keys: set[str]) -> list[str]:
    """Every reason this report version cannot be trusted; empty when it verifies."""
    problems: list[str] = []
    if sha256_hex(report.content_json) != report.content_sha256:
        problems.append("stored content does not match its recorded sha256")
    sigs = session.scalars(select(Signature).where(Signature.report_id == report.id)).all()
    kinds = {s.signer_kind for s in sigs}
    if report.status == ReportStatus.PRELIMINARY and AI not in kinds:
        problems.append("preliminary report has no AI signature")
    if report.status != ReportStatus.PRELIMINARY and PHYSICIAN not in kinds:
        problems.append(f"{report.status} report has no physician signature")
    for sig in sigs:
        label = f"{sig.signer_kind} signature {sig.id}"
        if not verify_payload(sig.algorithm, sig.public_key, sig.payload_json, sig.signature):
            problems.append(f"{label} does not verify")
            continue
        payload = json.loads(sig.payload_json)
        if payload.get("content_sha256") != report.content_sha256 or canonical_json(
            payload.get("content")
        ) != report.content_json:
            problems.append(f"{label} was made over other content than what is stored")
        if sig.signer_kind == AI and sig.public_key not in service_public_keys:
            problems.append(f"{label} is not from this service's key")
        if sig.signer_kind == PHYSICIAN:
            user = session.get(User, sig.signer_user_id) if sig.signer_user_id else None
            if user is None or user.public_key != sig.public_key:
                problems.append(f"{label} key is not the registered key of its signer")
            try:
                ai_sig = ai_signature_of(session, report)
            except LookupError as exc:
                problems.append(str(exc))
                continue
            embedded = payload.get("ai_signature", {})
            if embedded.get("signature") != ai_sig.signature or embedded.get("payload_sha256") != (
                ai_sig.payload_sha256
            ):
                problems.append(f"{label} builds on an AI signature that is not the stored one")
            if ai_sig.report_id != report.id:
                base = session.get(Report, ai_sig.report_id)
                if base is not None:
                    problems.extend(f"AI preliminary v{base.version}: {p}"
                                    for p in verify_report(session, base, service_public_keys))
    return problems


def verify_all(session: Session, service_public_keys: set[str]) -> tuple[int, list[Problem]]:
    """(number of report versions checked, every problem found)."""
    reports = session.scalars(select(Report).order_by(Report.id)).all()
    found: list[Problem] = []
    for report in reports:
        for p in dict.fromkeys(verify_report(session, report, service_public_keys)):
            found.append(Problem(report.id, report.exam_id, report.version, p))
    return len(reports), found
