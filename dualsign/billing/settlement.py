"""Claim listings and per-site settlement exports (CSV and JSON).

Date ranges are inclusive whole days in China Standard Time (Asia/Shanghai, UTC+8 all year, no
daylight saving since 1991): `start`..`end` covers [start 00:00 +08:00, end+1 00:00 +08:00).
Timestamps are stored in UTC. A reversal counts on the day it was made, so a period's settlement
shows the negative line even when the charge fell in an earlier period.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from dualsign.accounts.models import Site
from dualsign.billing.models import Claim
from dualsign.clock import CHINA_TZ
from dualsign.exams.models import Exam

CSV_COLUMNS = (
    "entry_id", "created_at", "entry_kind", "reverses_id", "exam_accession", "report_id", "service_code",
    "service_name", "insurance_number", "self_pay_ratio", "amount_fen", "self_pay_fen", "fund_fen",
)


def day_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end] inclusive local days as a half-open UTC-aware interval."""
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start})")
    lo = dt.datetime.combine(start, dt.time(0), CHINA_TZ)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), CHINA_TZ)
    return lo, hi


def _conditions(site_ids: Sequence[int] | None, start: dt.date, end: dt.date) -> list[ColumnElement[bool]]:
    lo, hi = day_bounds(start, end)
    where = [Claim.created_at >= lo, Claim.created_at < hi]
    if site_ids is not None:
        where.append(Claim.site_id.in_(list(site_ids)))
    return where


def claims(session: Session, *, site_ids: list[int] | None, start: dt.date, end: dt.date) -> list[Claim]:
    """Entries (charges and reversals) made in the period; site_ids None means every site."""
    if site_ids is not None and not site_ids:
        day_bounds(start, end)  # still refuse a backwards period
        return []
    stmt = select(Claim).where(*_conditions(site_ids, start, end)).order_by(Claim.created_at, Claim.id)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class SettlementLine:
    entry_id: int
    created_at: dt.datetime  # UTC
    entry_kind: str
    reverses_id: int | None
    exam_accession: str
    report_id: int
    service_code: str
    service_name: str
    insurance_number: str | None
    self_pay_ratio: str
    amount_fen: int
    self_pay_fen: int
    fund_fen: int


@dataclass(frozen=True)
class Totals:
    charge_count: int = 0
    reversal_count: int = 0
    amount_fen: int = 0
    self_pay_fen: int = 0
    fund_fen: int = 0

    @property
    def count(self) -> int:
        """Services billed net of reversals."""
        return self.charge_count - self.reversal_count

    def plus(self, line: SettlementLine) -> Totals:
        charge = line.entry_kind == "charge"
        return Totals(
            charge_count=self.charge_count + charge,
            reversal_count=self.reversal_count + (not charge),
            amount_fen=self.amount_fen + line.amount_fen,
            self_pay_fen=self.self_pay_fen + line.self_pay_fen,
            fund_fen=self.fund_fen + line.fund_fen,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "count": self.count, "charge_count": self.charge_count, "reversal_count": self.reversal_count,
            "amount_fen": self.amount_fen, "self_pay_fen": self.self_pay_fen, "fund_fen": self.fund_fen,
        }


@dataclass(frozen=True)
class ServiceTotal:
    service_code: str
    service_name: str
    totals: Totals


@dataclass(frozen=True)
class Settlement:
    site_id: int
    site_code: str
    site_name: str
    start: dt.date
    end: dt.date
    lines: tuple[SettlementLine, ...]
    services: tuple[ServiceTotal, ...] = field(default=())
    total: Totals = field(default_factory=Totals)


def settlement(session: Session, *, site_id: int, start: dt.date, end: dt.date) -> Settlement:
    site = session.get(Site, site_id)
    if site is None:
        raise LookupError(f"no site with id {site_id}")
    stmt = (
        select(Claim, Exam.accession)
        .join(Exam, Exam.id == Claim.exam_id)
        .where(*_conditions([site_id], start, end))
        .order_by(Claim.created_at, Claim.id)
    )
    lines = tuple(
        SettlementLine(
            entry_id=c.id, created_at=c.created_at, entry_kind=c.entry_kind, reverses_id=c.reverses_id,
            exam_accession=accession, report_id=c.report_id, service_code=c.service_code,
            service_name=c.service_name, insurance_number=c.insurance_number, self_pay_ratio=c.self_pay_ratio,
            amount_fen=c.amount_fen, self_pay_fen=c.self_pay_fen, fund_fen=c.fund_fen,
        )
        for c, accession in session.execute(stmt)
    )
    per_code: dict[str, Totals] = {}
    names: dict[str, str] = {}
    total = Totals()
    for line in lines:
        per_code[line.service_code] = per_code.get(line.service_code, Totals()).plus(line)
        names.setdefault(line.service_code, line.service_name)
        total = total.plus(line)
    services = tuple(ServiceTotal(code, names[code], per_code[code]) for code in sorted(per_code))
    return Settlement(site.id, site.code, site.name, start, end, lines, services, total)


def _local(ts: dt.datetime) -> str:
    return ts.astimezone(CHINA_TZ).isoformat(timespec="seconds")


def _line_dict(line: SettlementLine) -> dict[str, Any]:
    return {
        "entry_id": line.entry_id, "created_at": _local(line.created_at), "entry_kind": line.entry_kind,
        "reverses_id": line.reverses_id, "exam_accession": line.exam_accession, "report_id": line.report_id,
        "service_code": line.service_code, "service_name": line.service_name,
        "insurance_number": line.insurance_number, "self_pay_ratio": line.self_pay_ratio,
        "amount_fen": line.amount_fen, "self_pay_fen": line.self_pay_fen, "fund_fen": line.fund_fen,
    }


def settlement_csv(s: Settlement) -> str:
    """UTF-8 text: a header row, then one row per entry (reversals included, with negative amounts)."""
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for line in s.lines:
        writer.writerow({k: ("" if v is None else v) for k, v in _line_dict(line).items()})
    return buf.getvalue()


def settlement_json(s: Settlement) -> dict[str, Any]:
    return {
        "site": {"id": s.site_id, "code": s.site_code, "name": s.site_name},
        "period": {"start": s.start.isoformat(), "end": s.end.isoformat(), "timezone": "Asia/Shanghai",
                   "inclusive": True},
        "currency": "CNY",
        "unit": "fen",
        "services": [
            {"service_code": st.service_code, "service_name": st.service_name, **st.totals.as_dict()}
            for st in s.services
        ],
        "totals": s.total.as_dict(),
        "lines": [_line_dict(line) for line in s.lines],
    }
