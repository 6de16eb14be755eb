"""The audit trail's service API: record events, record failures, search, verify, export.

Every create/read/update of patient data, every sign/amend/retract/export and every login attempt
goes through record(), inside the same transaction as the action itself, so an action and its audit
event commit or roll back together. A failed or refused action is recorded with
record_separately(), in its own transaction, because the action's transaction is rolled back.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session, SessionTransaction

from dualsign.audit.chain import GENESIS_HASH, ChainProblem, append, event_hash, verify_chain
from dualsign.audit.fhir import export_fhir_bundle, to_fhir
from dualsign.audit.models import AuditEvent
from dualsign.audit.query import search
from dualsign.audit.vocab import SYSTEM, Actor, AuditAction, Outcome
from dualsign.db import Database
from dualsign.signing.canonical import canonical_json

__all__ = [
    "GENESIS_HASH", "SYSTEM", "Actor", "AuditAction", "ChainProblem", "Outcome", "event_hash",
    "export_fhir_bundle", "record", "record_separately", "record_when_done", "search", "to_fhir",
    "verify_chain",
]

# Column widths, checked up front so an oversized value fails clearly on every backend alike.
_WIDTHS = {"actor": 64, "role": 16, "object_type": 32, "object_id": 64, "client_address": 64}


def _build(actor: Actor, action: str, object_type: str, object_id: str | int | None, outcome: str,
           detail: dict[str, Any] | None, note: str | None) -> AuditEvent:
    try:
        action_value, outcome_value = AuditAction(action), Outcome(outcome)
    except ValueError as exc:
        raise ValueError(f"audit: {exc}; see dualsign.audit.vocab") from None
    if not object_type:
        raise ValueError("audit: object_type is required")
    # Store exactly what is hashed: the JSON form of detail (non-JSON values are refused here).
    stored_detail = json.loads(canonical_json(detail or {}))
    event = AuditEvent(
        actor_id=actor.user_id, actor=actor.username, role=actor.role, site_id=actor.site_id,
        action=action_value.value, object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        client_address=actor.client_address, outcome=outcome_value.value, detail=stored_detail, note=note,
    )
    for column, width in _WIDTHS.items():
        value = getattr(event, column)
        if value is not None and len(value) > width:
            raise ValueError(f"audit: {column} longer than {width} characters: {value[:80]!r}")
    return event


def record(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    outcome: str = Outcome.SUCCESS,
    detail: dict[str, Any] | None = None,
    *,
    note: str | None = None,
) -> AuditEvent:
    """Append an event to the chain within the caller's transaction; returns it, flushed.

    Appenders are serialised on the chain head until their transaction ends, so keep transactions
    that record short. On PostgreSQL this relies on READ COMMITTED (the default isolation level).
    """
    return append(session, _build(actor, action, object_type, object_id, outcome, detail, note))


def record_separately(
    database: Database,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    outcome: str = Outcome.FAILURE,
    detail: dict[str, Any] | None = None,
    *,
    note: str | None = None,
) -> AuditEvent:
    """Record an event in its own, immediately committed transaction (failed login, refused signing).

    Call it after the failed action's transaction has ended: a transaction still open in the same
    thread may hold the chain head, and this one would wait for it.
    """
    event = _build(actor, action, object_type, object_id, outcome, detail, note)
    with database.session() as session:
        if session.get_bind().dialect.name == "postgresql":
            # Turn a self-deadlock against a still-open transaction into an error, not a hang.
            session.execute(text("SET LOCAL lock_timeout = '15s'"))
        return append(session, event)


def record_when_done(
    session: Session,
    database: Database,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: str | int | None,
    outcome: str = Outcome.FAILURE,
    detail: dict[str, Any] | None = None,
    *,
    note: str | None = None,
) -> None:
    """Record an event in its own transaction as soon as `session`'s current transaction ends,
    whether it commits or rolls back: for refusals raised while that transaction is still open
    (on SQLite its write lock would make record_separately() wait for it)."""
    event = _build(actor, action, object_type, object_id, outcome, detail, note)  # fail early on bad input
    root = session.get_transaction()
    if root is None:  # nothing open that could hold a lock: record now
        with database.session() as own:
            append(own, event)
        return

    pending = [event]  # emptied once written; the listener itself stays until the session goes

    def _after(_session: Session, transaction: SessionTransaction) -> None:
        if transaction is root and pending:
            with database.session() as own:
                append(own, pending.pop())

    sa_event.listen(session, "after_transaction_end", _after)


def last_event(session: Session) -> AuditEvent | None:
    return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()


def utc(value: str) -> dt.datetime:
    """Parse an ISO 8601 time for filters; a time without zone is taken as UTC."""
    parsed = dt.datetime.fromisoformat(value)
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
