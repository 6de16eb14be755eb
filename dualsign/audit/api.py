"""The audit trail for auditors: search, FHIR R4 AuditEvent export, chain verification."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Role
from dualsign.audit import service as audit
from dualsign.audit.models import AuditEvent
from dualsign.http import Principal, RuntimeDep, require_roles

router = APIRouter(prefix="/api/audit", tags=["audit"])

Auditor = Annotated[Principal, Depends(require_roles(Role.AUDITOR))]


def _view(e: AuditEvent) -> dict[str, Any]:
    return {"seq": e.seq, "at": e.at.isoformat(), "actor": e.actor, "actor_id": e.actor_id, "role": e.role,
            "site_id": e.site_id, "action": e.action, "object_type": e.object_type, "object_id": e.object_id,
            "client_address": e.client_address, "outcome": e.outcome, "detail": e.detail, "hash": e.hash}


def _scoped(session: Any, principal: Principal, **filters: Any) -> list[AuditEvent]:
    """Events of the auditor's site and the sites below it, plus the system's own events."""
    scope = accounts.descendants(session, principal.site_id)
    return [e for e in audit.search(session, **filters) if e.site_id is None or e.site_id in scope]


@router.get("/events")
def events(
    rt: RuntimeDep,
    principal: Auditor,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    outcome: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
) -> dict[str, Any]:
    with rt.db.session() as session:
        rows = _scoped(session, principal, actor=actor, action=action, object_type=object_type,
                       object_id=object_id, outcome=outcome, since=since, until=until)[-limit:]
        items = [_view(e) for e in rows]
        audit.record(session, principal.actor, "read", "audit-trail", None, detail={"count": len(items)})
    return {"count": len(items), "items": items}


@router.get("/export")
def export(
    rt: RuntimeDep,
    principal: Auditor,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    """A FHIR R4 Bundle (collection) of AuditEvent resources."""
    with rt.db.session() as session:
        rows = _scoped(session, principal, since=since, until=until, actor=actor, action=action)
        bundle = {"resourceType": "Bundle", "type": "collection",
                  "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                  "entry": [{"resource": audit.to_fhir(e)} for e in rows]}
        audit.record(session, principal.actor, "export", "audit-trail", None,
                     detail={"count": len(rows), "format": "fhir-r4"})
    return bundle


@router.get("/verify")
def verify(rt: RuntimeDep, principal: Auditor) -> dict[str, Any]:
    """Re-check the whole hash chain; every changed, deleted or reordered record is named."""
    with rt.db.session() as session:
        problems = audit.verify_chain(session)
        audit.record(session, principal.actor, "verify", "audit-trail", None,
                     outcome="success" if not problems else "failure", detail={"problems": len(problems)})
    return {"intact": not problems,
            "problems": [{"seq": p.seq, "event_id": p.event_id, "problem": p.problem} for p in problems]}
