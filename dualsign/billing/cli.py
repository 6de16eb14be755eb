"""`dualsign claims export --site CODE --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|json] [--out FILE]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dualsign.accounts.models import Site
from dualsign.billing.settlement import settlement, settlement_csv, settlement_json
from dualsign.runtime import get_database


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(sub: Any) -> None:
    p = sub.add_parser("claims", help="insurance claims for signed AI services")
    csub = p.add_subparsers(dest="claims_command", required=True)
    e = csub.add_parser(
        "export",
        help="settlement export for one site",
        description="Entries made on the given days (inclusive, Asia/Shanghai time), charges and reversals.",
    )
    e.add_argument("--site", required=True, metavar="CODE", help="site code")
    e.add_argument("--from", dest="start", required=True, type=_date, metavar="YYYY-MM-DD")
    e.add_argument("--to", dest="end", required=True, type=_date, metavar="YYYY-MM-DD")
    e.add_argument("--format", choices=("csv", "json"), default="csv")
    e.add_argument("--out", type=Path, help="write here instead of standard output")
    e.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    if args.end < args.start:
        sys.stderr.write(f"error: --to {args.end} is before --from {args.start}\n")
        return 2
    with get_database().session() as session:
        site = session.scalars(select(Site).where(Site.code == args.site)).first()
        if site is None:
            sys.stderr.write(f"error: no site with code {args.site!r}\n")
            return 2
        result = settlement(session, site_id=site.id, start=args.start, end=args.end)
    if args.format == "csv":
        text = settlement_csv(result)
    else:
        text = json.dumps(settlement_json(result), ensure_ascii=False, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8", newline="")
    return 0
