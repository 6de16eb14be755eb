"""Claims for billing staff: listing and settlement export. No images, no findings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import select

from dualsign.accounts import service as accounts
from dualsign.accounts.models import Role, Site
from dualsign.audit import service as audit
from dualsign.billing import settlement as settlements
from dualsign.clock import china_today
from dualsign.http import Principal, RuntimeDep, deny, require_roles

router = APIRouter(prefix="/api", tags=["billing"])

Billing = Annotated[Principal, Depends(require_roles(Role.BILLING))]


def default_period(start: dt.date | None, end: dt.date | None, now: dt.datetime | None = None,
                   ) -> tuple[dt.date, dt.date]:
    """The period asked for; a missing end is today and a missing start the 1st of that month, in China."""
    today = china_today(now)
    start, end = start or today.replace(day=1), end or today
    if end < start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, f"'to' ({end}) is before 'from' ({start})")
    return start, end


@router.get("/claims")
def list_claims(
    rt: RuntimeDep,
    principal: Billing,
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    """Claim entries (charges and reversals) of the caller's site and the sites below it."""
    start, end = default_period(start, end)
    with rt.db.session() as session:
        scope = sorted(accounts.descendants(session, principal.site_id))
        rows = settlements.claims(session, site_ids=scope, start=start, end=end)
        items = [
            {"id": c.id, "exam_id": c.exam_id, "report_id": c.report_id, "site_id": c.site_id,
             "entry_kind": c.entry_kind, "reverses_id": c.reverses_id, "service_code": c.service_code,
             "service_name": c.service_name, "amount_fen": c.amount_fen, "self_pay_fen": c.self_pay_fen,
             "fund_fen": c.fund_fen, "insurance_number": c.insurance_number,
             "created_at": c.created_at.isoformat()}
            for c in rows
        ]
        audit.record(session, principal.actor, "read", "claim-list", None,
                     detail={"from": start.isoformat(), "to": end.isoformat(), "count": len(items)})
    return {"count": len(items), "items": items}


@router.get("/claims/export", response_model=None)
def export_settlement(
    rt: RuntimeDep,
    principal: Billing,
    site: Annotated[str, Query(description="site code")],
    start: Annotated[dt.date | None, Query(alias="from")] = None,
    end: Annotated[dt.date | None, Query(alias="to")] = None,
    format: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
) -> Response | dict[str, Any]:
    """Settlement for one site and an inclusive date range (Asia/Shanghai days), as CSV or JSON."""
    start, end = default_period(start, end)
    with rt.db.session() as session:
        target = session.scalar(select(Site).where(Site.code == site))
        if target is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site!r}")
        if target.id not in accounts.descendants(session, principal.site_id):
            deny(rt, principal, "export", "settlement", site, "this site is outside your billing scope")
        result = settlements.settlement(session, site_id=target.id, start=start, end=end)
        audit.record(session, principal.actor, "export", "settlement", site,
                     detail={"from": start.isoformat(), "to": end.isoformat(), "format": format})
    if format == "json":
        return settlements.settlement_json(result)
    return PlainTextResponse(settlements.settlement_csv(result), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition":
                                      f'attachment; filename="settlement-{site}-{start}-{end}.csv"'})
