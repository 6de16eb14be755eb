"""Charging a signed AI service to insurance, and reversing it when the report is retracted.

Exactly one charge and at most one reversal per exam. The database's unique constraint on
(exam_id, entry_kind) is what guarantees it under concurrent signing; the insert runs inside a
SAVEPOINT so that losing the race rolls back only the insert, never the caller's transaction.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualsign.billing.catalogue import Catalogue, split_amount
from dualsign.billing.errors import ClaimConflict, NotBillable, NotReversible
from dualsign.billing.models import Claim
from dualsign.billing.settlement import (
    ServiceTotal,
    Settlement,
    SettlementLine,
    Totals,
    claims,
    settlement,
    settlement_csv,
    settlement_json,
)
from dualsign.exams.models import Exam
from dualsign.reports.models import Report, ReportStatus

__all__ = [
    "CHARGE", "REVERSAL", "ServiceTotal", "Settlement", "SettlementLine", "Totals", "charge_for_final_report",
    "charge_of", "claims", "reverse_charge", "settlement", "settlement_csv", "settlement_json",
]

CHARGE = "charge"
REVERSAL = "reversal"

# Exam statuses in which a signed report stands: the first signing (final) and later amendments.
BILLABLE_EXAM_STATUSES = frozenset({"final", "amended"})
_REFUSAL_REASONS = {
    "qc_failed": "it failed image quality control",
    "analysis_failed": "its AI analysis failed",
    "retracted": "its report was retracted",
}
UNINSURED_RATIO = Decimal(1)


def charge_of(session: Session, exam_id: int) -> Claim | None:
    return _entry(session, exam_id, CHARGE)


def _entry(session: Session, exam_id: int, kind: str) -> Claim | None:
    return session.scalars(select(Claim).where(Claim.exam_id == exam_id, Claim.entry_kind == kind)).first()


def _begin_write(session: Session) -> None:
    """On SQLite, open the transaction with the write lock before the check-then-insert.

    pysqlite starts a transaction only before INSERT/UPDATE/DELETE, not before SAVEPOINT; a SAVEPOINT
    outside a transaction would be the outermost one, and releasing it would commit the insert on
    its own, outside the caller's transaction. BEGIN IMMEDIATE also serialises concurrent signers,
    so the existing-charge check below is authoritative there. PostgreSQL needs none of this.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    if not getattr(conn.connection.dbapi_connection, "in_transaction", True):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _insert_once(session: Session, entry: Claim) -> Claim:
    """Insert the entry, or return the one a concurrent transaction committed first."""
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError as exc:
        # Only the savepoint was rolled back; the caller's earlier work in this transaction stands.
        winner = _entry(session, entry.exam_id, entry.entry_kind)
        if winner is not None:
            return winner
        raise ClaimConflict(
            f"a {entry.entry_kind} for exam {entry.exam_id} was written by a concurrent transaction "
            "that this one cannot see yet; it exists once that transaction commits"
        ) from exc
    return entry


def _check_billable(exam: Exam, report: Report) -> None:
    if report.exam_id != exam.id:
        raise NotBillable(f"report {report.id} belongs to exam {report.exam_id}, not to exam {exam.id}")
    if exam.status not in BILLABLE_EXAM_STATUSES:
        why = _REFUSAL_REASONS.get(exam.status, "it has no physician-signed final report yet")
        raise NotBillable(f"exam {exam.accession} (status {exam.status!r}) is not billable: {why}")
    if report.status != ReportStatus.FINAL:
        raise NotBillable(
            f"report {report.id} of exam {exam.accession} is {report.status!r}, not final: only a report "
            "signed by both the AI and a physician is billable"
        )


def charge_for_final_report(
    session: Session,
    *,
    exam: Exam,
    report: Report,
    insurance_number: str | None,
    actor_id: int | None,
    catalogue: Catalogue,
) -> Claim:
    """The exam's one charge entry: created now, or the existing one (an amendment never bills again).

    Call it after the exam has moved to final (or amended). Without an insurance number the fund
    cannot be claimed against, so the patient pays the whole amount (ratio 1).
    Raises NotBillable (not final, failed QC/analysis, retracted, no catalogue service) or, rarely,
    ClaimConflict (a concurrent charge not yet visible here); the session stays usable after either.
    """
    _check_billable(exam, report)
    _begin_write(session)
    existing = _entry(session, exam.id, CHARGE)
    if existing is not None:
        return existing
    service = catalogue.for_modality(exam.modality)
    insured = bool(insurance_number and insurance_number.strip())
    ratio = service.self_pay_ratio if insured else UNINSURED_RATIO
    self_pay, fund = split_amount(service.unit_price_fen, ratio)
    charge = Claim(
        exam_id=exam.id,
        report_id=report.id,
        site_id=exam.site_id,  # billed by the hospital where the patient was examined
        entry_kind=CHARGE,
        reverses_id=None,
        service_code=service.code,
        service_name=service.name_zh,
        amount_fen=service.unit_price_fen,
        self_pay_fen=self_pay,
        fund_fen=fund,
        self_pay_ratio=str(ratio),
        insurance_number=insurance_number.strip() if insured and insurance_number else None,
        created_by_id=actor_id,
    )
    return _insert_once(session, charge)


def reverse_charge(
    session: Session, *, exam: Exam, report: Report, reason: str, actor_id: int | None
) -> Claim | None:
    """The reversal of the exam's charge, negating it exactly; None when nothing was charged.

    Call it after the exam has moved to retracted. Calling it again returns the same reversal.
    """
    if not reason or not reason.strip():
        raise ValueError("a reversal needs a reason")
    if report.exam_id != exam.id:
        raise NotReversible(f"report {report.id} belongs to exam {report.exam_id}, not to exam {exam.id}")
    if exam.status != "retracted":
        raise NotReversible(
            f"exam {exam.accession} is {exam.status!r}: only a retracted exam's charge can be reversed"
        )
    _begin_write(session)
    charge = _entry(session, exam.id, CHARGE)
    if charge is None:
        return None
    existing = _entry(session, exam.id, REVERSAL)
    if existing is not None:
        return existing
    reversal = Claim(
        exam_id=exam.id,
        report_id=report.id,
        site_id=charge.site_id,
        entry_kind=REVERSAL,
        reverses_id=charge.id,
        # Copied from the charge, not the catalogue: the reversal must cancel what was billed.
        service_code=charge.service_code,
        service_name=charge.service_name,
        amount_fen=-charge.amount_fen,
        self_pay_fen=-charge.self_pay_fen,
        fund_fen=-charge.fund_fen,
        self_pay_ratio=charge.self_pay_ratio,
        insurance_number=charge.insurance_number,
        reason=reason.strip(),
        created_by_id=actor_id,
    )
    return _insert_once(session, reversal)
