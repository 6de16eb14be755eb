from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from dualsign.billing.catalogue import Catalogue
from dualsign.billing.errors import NotBillable, NotReversible
from dualsign.billing.models import Claim
from dualsign.billing.service import charge_for_final_report, reverse_charge, settlement
from dualsign.db import Database, utcnow
from dualsign.exams.models import Exam
from dualsign.reports.models import Report

from .conftest import INSURANCE_NUMBER, ExamRef, MakeExam, World


def charge(
    db: Database, ref: ExamRef, catalogue: Catalogue, insurance: str | None = INSURANCE_NUMBER
) -> Claim:
    with db.session() as s:
        exam, report = s.get_one(Exam, ref.exam_id), s.get_one(Report, ref.report_id)
        return charge_for_final_report(s, exam=exam, report=report, insurance_number=insurance,
                                       actor_id=None, catalogue=catalogue)


def retract(db: Database, ref: ExamRef, reason: str = "wrong patient") -> Claim | None:
    with db.session() as s:
        exam, report = s.get_one(Exam, ref.exam_id), s.get_one(Report, ref.report_id)
        exam.status = "retracted"
        return reverse_charge(s, exam=exam, report=report, reason=reason, actor_id=None)


def entries(db: Database, exam_id: int) -> list[Claim]:
    with db.session() as s:
        return list(s.scalars(select(Claim).where(Claim.exam_id == exam_id).order_by(Claim.id)))


def test_one_charge_per_exam_with_the_catalogue_split(
    database: Database, make_exam: MakeExam, catalogue: Catalogue, world: World
) -> None:
    ref = make_exam(modality="chest_ct")
    first = charge(database, ref, catalogue)
    assert (first.entry_kind, first.service_code, first.service_name) == (
        "charge", "AI0201001", "人工智能辅助诊断（肺结节CT）")
    assert (first.amount_fen, first.self_pay_fen, first.fund_fen) == (2500, 250, 2250)
    assert (first.self_pay_ratio, first.insurance_number) == ("0.10", INSURANCE_NUMBER)
    assert first.site_id == world.site_id
    assert charge(database, ref, catalogue).id == first.id  # a second call does not bill again
    assert [c.id for c in entries(database, ref.exam_id)] == [first.id]


def test_amendment_does_not_bill_again(database: Database, make_exam: MakeExam, catalogue: Catalogue) -> None:
    ref = make_exam(modality="ecg")
    first = charge(database, ref, catalogue)
    with database.session() as s:
        s.get_one(Exam, ref.exam_id).status = "amended"
        s.get_one(Report, ref.report_id).status = "superseded"
        v2 = Report(exam_id=ref.exam_id, version=2, status="final", content_json="{}",
                    content_sha256="0" * 64, based_on_id=ref.report_id, reason="typo")
        s.add(v2)
        s.flush()
        v2_ref = ExamRef(ref.exam_id, v2.id)
    assert charge(database, v2_ref, catalogue).id == first.id
    assert len(entries(database, ref.exam_id)) == 1


def test_refusals(database: Database, make_exam: MakeExam, catalogue: Catalogue) -> None:
    for status in ("received", "qc_failed", "queued", "analyzing", "analysis_failed", "preliminary",
                   "in_review", "retracted"):
        ref = make_exam(status=status, report_status="preliminary")
        with pytest.raises(NotBillable, match=status):
            charge(database, ref, catalogue)
        assert entries(database, ref.exam_id) == []
    ref = make_exam(status="final", report_status="preliminary")  # exam says final, report unsigned
    with pytest.raises(NotBillable, match="not final"):
        charge(database, ref, catalogue)
    with pytest.raises(NotBillable, match="failed image quality control"):
        charge(database, make_exam(status="qc_failed"), catalogue)
    other = make_exam()
    with pytest.raises(NotBillable, match="belongs to exam"):
        charge(database, ExamRef(ref.exam_id, other.report_id), catalogue)
    no_ct = Catalogue([s for s in catalogue if s.modality != "chest_ct"])
    with pytest.raises(NotBillable, match="no billable service for modality 'chest_ct'"):
        charge(database, make_exam(), no_ct)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 0


def test_uninsured_patient_pays_all(database: Database, make_exam: MakeExam, catalogue: Catalogue) -> None:
    claim = charge(database, make_exam(modality="fundus"), catalogue, insurance="  ")
    assert (claim.amount_fen, claim.self_pay_fen, claim.fund_fen) == (2000, 2000, 0)
    assert claim.self_pay_ratio == "1"
    assert claim.insurance_number is None


def test_database_refuses_a_second_charge_row(
    database: Database, make_exam: MakeExam, catalogue: Catalogue
) -> None:
    ref = make_exam()
    first = charge(database, ref, catalogue)
    with pytest.raises(IntegrityError), database.session() as s:
        s.add(Claim(exam_id=ref.exam_id, report_id=ref.report_id, site_id=first.site_id, entry_kind="charge",
                    service_code="X", service_name="X", amount_fen=1, self_pay_fen=0, fund_fen=1,
                    self_pay_ratio="0", created_at=utcnow()))
    with pytest.raises(IntegrityError), database.session() as s:  # parts must add up
        s.add(Claim(exam_id=make_exam().exam_id, report_id=ref.report_id, site_id=first.site_id,
                    entry_kind="charge", service_code="X", service_name="X", amount_fen=10, self_pay_fen=1,
                    fund_fen=8, self_pay_ratio="0.1"))


def test_reversal_negates_once_and_settlement_nets_to_zero(
    database: Database, make_exam: MakeExam, catalogue: Catalogue, world: World
) -> None:
    ref = make_exam(modality="chest_ct")
    with pytest.raises(NotReversible), database.session() as s:  # the exam is still final
        reverse_charge(s, exam=s.get_one(Exam, ref.exam_id), report=s.get_one(Report, ref.report_id),
                       reason="x", actor_id=None)
    charged = charge(database, ref, catalogue)
    with pytest.raises(ValueError, match="reason"):
        retract(database, ref, reason=" ")
    reversal = retract(database, ref)
    assert reversal is not None
    assert (reversal.entry_kind, reversal.reverses_id) == ("reversal", charged.id)
    assert reversal.reason == "wrong patient"
    assert (reversal.amount_fen, reversal.self_pay_fen, reversal.fund_fen) == (-2500, -250, -2250)
    again = retract(database, ref)
    assert again is not None and again.id == reversal.id  # never two reversals
    assert len(entries(database, ref.exam_id)) == 2
    with pytest.raises(NotBillable, match="retracted"):  # and no charge after retraction
        charge(database, ref, catalogue)

    today = utcnow().date()
    with database.session() as s:
        result = settlement(s, site_id=world.site_id, start=today - dt.timedelta(days=1),
                            end=today + dt.timedelta(days=1))
    assert len(result.lines) == 2
    assert (result.total.charge_count, result.total.reversal_count, result.total.count) == (1, 1, 0)
    assert (result.total.amount_fen, result.total.self_pay_fen, result.total.fund_fen) == (0, 0, 0)


def test_no_reversal_without_a_charge(database: Database, make_exam: MakeExam) -> None:
    ref = make_exam(status="qc_failed", report_status="preliminary")
    assert retract(database, ref) is None
    assert entries(database, ref.exam_id) == []


def test_charge_rolls_back_with_the_callers_transaction(
    database: Database, make_exam: MakeExam, catalogue: Catalogue
) -> None:
    ref = make_exam()
    with pytest.raises(RuntimeError), database.session() as s:
        charge_for_final_report(s, exam=s.get_one(Exam, ref.exam_id), report=s.get_one(Report, ref.report_id),
                                insurance_number=None, actor_id=None, catalogue=catalogue)
        raise RuntimeError("signing failed after the charge was written")
    assert entries(database, ref.exam_id) == []
