"""Searching the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.audit.models import AuditEvent


def search(
    session: Session,
    *,
    actor: str | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    outcome: str | None = None,
    site_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events matching every given filter, in chain order. `since` is inclusive, `until` exclusive;
    both must be timezone-aware. `actor` is a username, `actor_id` a user id."""
    query = select(AuditEvent).order_by(AuditEvent.seq)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if action is not None:
        query = query.where(AuditEvent.action == str(action))
    if object_type is not None:
        query = query.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEvent.object_id == str(object_id))
    if outcome is not None:
        query = query.where(AuditEvent.outcome == str(outcome))
    if site_id is not None:
        query = query.where(AuditEvent.site_id == site_id)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
