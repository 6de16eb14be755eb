"""Concurrent signing must never bill twice, and losing the race must not poison the transaction."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from dualsign.billing.catalogue import Catalogue
from dualsign.billing.errors import ClaimConflict
from dualsign.billing.models import Claim
from dualsign.billing.service import charge_for_final_report
from dualsign.db import Database
from dualsign.exams.models import Exam, ExamTransition
from dualsign.reports.models import Report

from .conftest import INSURANCE_NUMBER, ExamRef, MakeExam


def _charge(session: Session, ref: ExamRef, catalogue: Catalogue) -> Claim:
    exam, report = session.get_one(Exam, ref.exam_id), session.get_one(Report, ref.report_id)
    return charge_for_final_report(session, exam=exam, report=report, insurance_number=INSURANCE_NUMBER,
                                   actor_id=None, catalogue=catalogue)


def _charge_rows(db: Database, exam_id: int) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(Claim.id).where(Claim.exam_id == exam_id, Claim.entry_kind == "charge")))


def test_racing_signers_produce_one_charge(
    database: Database, make_exam: MakeExam, catalogue: Catalogue
) -> None:
    ref = make_exam()
    threads = 4
    barrier = threading.Barrier(threads)
    results: list[object] = []
    lock = threading.Lock()

    def sign() -> None:
        try:
            # All start together; the barrier is outside the transaction because SQLite may hold
            # its write lock from the first statement, and waiting inside it would deadlock.
            barrier.wait(timeout=10)
            with database.session() as s:
                claim_id = _charge(s, ref, catalogue).id
            outcome: object = claim_id
        except ClaimConflict:
            outcome = "conflict"
        except Exception as exc:  # recorded so that the assertion below names it
            outcome = exc
        with lock:
            results.append(outcome)

    workers = [threading.Thread(target=sign) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    rows = _charge_rows(database, ref.exam_id)
    assert len(rows) == 1
    assert len(results) == threads
    assert all(r == rows[0] or r == "conflict" for r in results), results
    assert rows[0] in results


def test_loser_waits_gets_the_winners_charge_and_keeps_its_transaction(
    database: Database, make_exam: MakeExam, catalogue: Catalogue
) -> None:
    ref = make_exam()
    inserted = threading.Event()
    winner: list[int] = []

    def first_signer() -> None:
        with database.session() as s:
            winner.append(_charge(s, ref, catalogue).id)
            s.flush()
            inserted.set()
            time.sleep(0.5)  # hold the uncommitted charge while the second signer tries to insert

    t = threading.Thread(target=first_signer)
    t.start()
    assert inserted.wait(timeout=30)
    started = time.monotonic()
    with database.session() as s:
        # Earlier work in the same transaction (as the signing flow would have done) must survive.
        s.add(ExamTransition(exam_id=ref.exam_id, from_status="in_review", to_status="final",
                             reason="before"))
        s.flush()
        got = _charge(s, ref, catalogue)
        waited = time.monotonic() - started
        s.add(ExamTransition(exam_id=ref.exam_id, from_status="final", to_status="final", reason="after"))
    t.join(timeout=30)
    assert got.id == winner[0]
    assert waited >= 0.3  # it really raced: blocked on the other transaction's insert
    assert _charge_rows(database, ref.exam_id) == winner
    with database.session() as s:
        reasons = s.scalars(select(ExamTransition.reason).where(ExamTransition.exam_id == ref.exam_id))
        assert sorted(r or "" for r in reasons) == ["after", "before"]


# PostgreSQL only: SQLite serialises writers, so there the winner is always visible to the loser.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_invisible_winner_is_a_clean_conflict(
    database: Database, make_exam: MakeExam, catalogue: Catalogue
) -> None:
    assert database.url.startswith("postgresql")
    ref = make_exam()
    with database.session() as loser:
        loser.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        loser.execute(text("SELECT 1"))  # the snapshot is taken here, before the winner commits
        with database.session() as other:
            won = _charge(other, ref, catalogue).id
        with pytest.raises(ClaimConflict, match=f"exam {ref.exam_id}"):
            _charge(loser, ref, catalogue)
        assert loser.scalar(select(func.count()).select_from(Exam)) == 1  # transaction still usable
    assert _charge_rows(database, ref.exam_id) == [won]
