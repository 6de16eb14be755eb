"""The hash chain: intact trails verify; changed, deleted, reordered and truncated records are named."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dualsign.audit.models import AuditEvent, AuditHead
from dualsign.audit.service import (
    GENESIS_HASH,
    SYSTEM,
    ChainProblem,
    event_hash,
    record,
    record_separately,
    record_when_done,
    search,
    verify_chain,
)
from dualsign.db import Database
from tests.audit.conftest import AUDITOR, DR_LI, fill, sql

N = 12


def _problems(database: Database) -> list[ChainProblem]:
    with database.session() as session:
        return verify_chain(session)


def _seqs(problems: list[ChainProblem]) -> list[int]:
    return [p.seq for p in problems]


def test_chain_of_events_verifies(database: Database) -> None:
    fill(database, N)
    with database.session() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        head = session.get(AuditHead, 1)
        assert verify_chain(session) == []
    assert [e.seq for e in events] == list(range(1, N + 1))
    assert events[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert all(event_hash(e) == e.hash for e in events)
    assert all(a.at <= b.at for a, b in zip(events, events[1:], strict=False))
    assert head is not None and (head.seq, head.hash) == (N, events[-1].hash)
    assert events[0].detail == {"n": 1, "note": "初报"} and events[0].object_id == "1"


def test_empty_trail_is_intact(database: Database) -> None:
    assert _problems(database) == []


@pytest.mark.parametrize(
    ("column", "value"),
    [("actor", "dr.wang"), ("outcome", "failure"), ("object_id", "999"), ("action", "read"),
     ("client_address", "10.0.0.99"), ("detail", '{"n": 7, "note": "edited"}'), ("prev_hash", "f" * 64)],
)
def test_changed_column_names_that_record(database: Database, column: str, value: str) -> None:
    fill(database, N)
    cast = "CAST(:v AS json)" if column == "detail" and database.engine.dialect.name == "postgresql" else ":v"
    sql(database, f"UPDATE audit_event SET {column} = {cast} WHERE seq = 7", v=value)
    problems = _problems(database)
    assert _seqs(problems) == [7], problems
    assert "changed" in problems[0].problem and problems[0].event_id is not None


def test_changed_and_rehashed_record_breaks_the_next_link(database: Database) -> None:
    fill(database, N)
    with database.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.seq == 7)).one()
        event.actor = "dr.wang"
        forged = event_hash(event)
        session.rollback()
    sql(database, "UPDATE audit_event SET actor = 'dr.wang', hash = :h WHERE seq = 7", h=forged)
    problems = _problems(database)
    assert _seqs(problems) == [8]
    assert "seq 7" in problems[0].problem


def test_deleted_record_is_named(database: Database) -> None:
    fill(database, N)
    sql(database, "DELETE FROM audit_event WHERE seq IN (5, 9, 10)")
    problems = _problems(database)
    assert _seqs(problems) == [5, 9, 10]
    assert all(p.event_id is None and "deleted" in p.problem for p in problems)


def test_swapped_records_are_named_as_reordered(database: Database) -> None:
    fill(database, N)
    sql(database, "UPDATE audit_event SET seq = -1 WHERE seq = 3")
    sql(database, "UPDATE audit_event SET seq = 3 WHERE seq = 5")
    sql(database, "UPDATE audit_event SET seq = 5 WHERE seq = -1")
    problems = _problems(database)
    assert _seqs(problems) == [3, 5], problems
    assert "written as seq 5" in problems[0].problem and "written as seq 3" in problems[1].problem


def test_deleted_last_record_is_caught_by_the_head(database: Database) -> None:
    fill(database, N)
    sql(database, f"DELETE FROM audit_event WHERE seq >= {N - 1}")
    problems = _problems(database)
    assert _seqs(problems) == [N - 1, N]
    assert all("end" in p.problem for p in problems)


def test_record_written_around_the_service_is_caught(database: Database) -> None:
    fill(database, 3)
    sql(database, "UPDATE audit_head SET seq = 2")
    assert _seqs(_problems(database)) == [3]
    sql(database, "DELETE FROM audit_head")
    assert "head missing" in _problems(database)[0].problem


def test_rolled_back_action_leaves_no_event_and_no_gap(database: Database) -> None:
    fill(database, 2)
    with pytest.raises(RuntimeError), database.session() as session:
        record(session, DR_LI, "sign", "report", 42)
        raise RuntimeError("signing refused half-way")
    # The refusal itself is still kept, in its own transaction.
    record_separately(database, DR_LI, "sign", "report", 42, outcome="denied",
                      detail={"why": "licence expired"})
    with database.session() as session:
        events = search(session, object_id=42)
        assert [(e.seq, e.outcome) for e in events] == [(3, "denied")]
        assert verify_chain(session) == []


def test_record_when_done_waits_for_the_open_transaction(database: Database) -> None:
    with pytest.raises(PermissionError), database.session() as session:
        record(session, DR_LI, "read", "exam", 1)  # holds the chain head (and SQLite's write lock)
        record_when_done(session, database, DR_LI, "sign", "report", 5, outcome="failure",
                         detail={"why": "wrong password"})
        raise PermissionError("wrong password")
    with database.session() as session:
        events = search(session)
        assert [(e.seq, e.action, e.outcome) for e in events] == [(1, "sign", "failure")]
        assert verify_chain(session) == []


def test_search_filters(database: Database) -> None:
    fill(database, N)
    with database.session() as session:
        everything = search(session)
        assert len(everything) == N
        assert {e.actor for e in search(session, actor="auditor.zhao")} == {"auditor.zhao"}
        assert len(search(session, actor_id=AUDITOR.user_id)) == N // 3
        assert [e.seq for e in search(session, action="sign")] == [3, 11]
        assert [e.seq for e in search(session, outcome="denied")] == [5, 10]
        assert [e.seq for e in search(session, object_type="report", object_id=4)] == [4]
        assert [e.seq for e in search(session, site_id=AUDITOR.site_id)] == [3, 6, 9, 12]
        middle = everything[5].at
        assert [e.seq for e in search(session, since=middle)][0] == 6
        assert [e.seq for e in search(session, until=middle)][-1] == 5
        assert [e.seq for e in search(session, limit=2, offset=3)] == [4, 5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"action": "delete"}, "audit"), ({"outcome": "maybe"}, "audit"), ({"object_type": ""}, "object_type"),
     ({"detail": {"at": object()}}, None), ({"object_id": "x" * 65}, "object_id")],
)
def test_bad_input_is_refused_before_anything_is_written(database: Database, kwargs: dict[str, object],
                                                         message: str | None) -> None:
    args: dict[str, object] = {"action": "read", "object_type": "exam", "object_id": 1, **kwargs}
    with database.session() as session:
        with pytest.raises((ValueError, TypeError), match=message):
            record(session, SYSTEM, **args)  # type: ignore[arg-type]
        assert search(session) == []
