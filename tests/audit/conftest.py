"""Helpers shared by the audit tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from dualsign.audit.service import Actor, record
from dualsign.db import Database

DR_LI = Actor(7, "dr.li", "physician", 3, "10.0.0.12")
AUDITOR = Actor(9, "auditor.zhao", "auditor", 1)
ACTIONS = ["read", "update", "review", "sign", "login", "export", "analyze", "amend"]


def fill(database: Database, n: int, per_transaction: int = 4) -> None:
    """n events of varied actors, actions and outcomes, a few per transaction."""
    done = 0
    while done < n:
        with database.session() as session:
            for _ in range(min(per_transaction, n - done)):
                done += 1
                record(session, DR_LI if done % 3 else AUDITOR, ACTIONS[done % len(ACTIONS)], "report", done,
                       outcome="denied" if done % 5 == 0 else "success", detail={"n": done, "note": "初报"})


def sql(database: Database, statement: str, **params: Any) -> None:
    """Tamper with the table behind the service's back."""
    with database.engine.begin() as conn:
        conn.execute(text(statement), params)
