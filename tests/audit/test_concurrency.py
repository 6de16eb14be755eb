"""Concurrent appenders: one chain, no gaps, no spurious failures, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from dualsign.audit.models import AuditEvent
from dualsign.audit.service import Actor, record, record_separately, verify_chain
from dualsign.db import Database

THREADS = 4
TRANSACTIONS = 6  # per thread, two events each


def test_concurrent_appends_make_one_intact_chain(database: Database) -> None:
    start = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        actor = Actor(n, f"user{n}", "physician", 1, f"10.0.0.{n}")
        start.wait()
        for i in range(TRANSACTIONS):
            if i % 3 == 2:  # the separate-transaction path races too
                record_separately(database, actor, "login", "user", n, outcome="failure")
                record_separately(database, actor, "login", "user", n, outcome="success")
                continue
            with database.session() as session:
                record(session, actor, "read", "exam", i)
                time.sleep(0.002)  # hold the head a moment so the others queue behind it
                record(session, actor, "update", "exam", i)

    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(worker, n) for n in range(1, THREADS + 1)]:
            future.result()  # re-raises any failure in a thread

    with database.session() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        assert verify_chain(session) == []
    assert [e.seq for e in events] == list(range(1, THREADS * TRANSACTIONS * 2 + 1))
    # A transaction's two events are adjacent: appenders queue behind the head, they do not interleave.
    for before, event in zip(events, events[1:], strict=False):
        if event.action == "update":
            assert (before.action, before.actor, before.object_id) == ("read", event.actor, event.object_id)
