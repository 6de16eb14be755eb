"""`dualsign audit verify` and `dualsign audit export`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from dualsign.audit.chain import count_events, verify_chain
from dualsign.audit.fhir import export_fhir_bundle
from dualsign.audit.service import SYSTEM, AuditAction, record, utc
from dualsign.runtime import get_database


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("audit", help="check or export the hash-chained audit trail")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    verify = commands.add_parser("verify", help="re-check every record; exit 1 naming each problem")
    verify.set_defaults(func=run_verify)

    export = commands.add_parser("export", help="write the trail as a FHIR R4 Bundle of AuditEvents")
    export.add_argument("--since", type=utc, help="ISO 8601 time, inclusive (UTC if no zone)")
    export.add_argument("--until", type=utc, help="ISO 8601 time, exclusive (UTC if no zone)")
    export.add_argument("--actor", help="only events by this username")
    export.add_argument("--action", choices=[a.value for a in AuditAction], help="only this action")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    with get_database().session() as session:
        problems = verify_chain(session)
        total = count_events(session)
    if not problems:
        print(f"audit trail intact: {total} events")
        return 0
    for p in problems:
        where = f"seq {p.seq}" + (f" (event id {p.event_id})" if p.event_id is not None else "")
        print(f"{where}: {p.problem}")
    print(f"audit trail NOT intact: {len(problems)} problem(s) in {total} events")
    return 1


def run_export(args: argparse.Namespace) -> int:
    with get_database().session() as session:
        bundle = export_fhir_bundle(session, since=args.since, until=args.until, actor=args.actor,
                                    action=args.action)
        # The export is itself an audited disclosure, committed together with writing it out.
        record(session, SYSTEM, AuditAction.EXPORT, "audit_trail", None, detail={
            "via": "cli", "os_user": getpass.getuser(), "events": len(bundle["entry"]),
            "since": args.since.isoformat() if args.since else None,
            "until": args.until.isoformat() if args.until else None,
            "out": str(args.out) if args.out else "stdout",
        })
        text = json.dumps(bundle, ensure_ascii=False, indent=2) + "\n"
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
    if args.out:
        print(f"exported {len(bundle['entry'])} audit events to {args.out}", file=sys.stderr)
    return 0
