"""`dualsign audit verify`, `dualsign audit anchor` and `dualsign audit export`."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from dualsign.audit.chain import Anchor, check_anchors, count_events, take_anchor, verify_chain
from dualsign.audit.fhir import export_fhir_bundle
from dualsign.audit.service import SYSTEM, AuditAction, record, utc
from dualsign.runtime import get_database


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("audit", help="check or export the hash-chained audit trail")
    commands = parser.add_subparsers(dest="audit_command", required=True)

    verify = commands.add_parser("verify", help="re-check every record; exit 1 naming each problem")
    verify.add_argument("--anchors", type=Path, help="also check the anchors in this file (`audit anchor`)")
    verify.set_defaults(func=run_verify)

    anchor = commands.add_parser("anchor", help="copy the chain head out of the database, to catch a rewrite later")
    anchor.add_argument("--out", type=Path, help="file to append the anchor to (default: standard output)")
    anchor.set_defaults(func=run_anchor)

    export = commands.add_parser("export", help="write the trail as a FHIR R4 Bundle of AuditEvents")
    export.add_argument("--since", type=utc, help="ISO 8601 time, inclusive (UTC if no zone)")
    export.add_argument("--until", type=utc, help="ISO 8601 time, exclusive (UTC if no zone)")
    export.add_argument("--actor", help="only events by this username")
    export.add_argument("--action", choices=[a.value for a in AuditAction], help="only this action")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.set_defaults(func=run_export)


def run_verify(args: argparse.Namespace) -> int:
    anchors: list[Anchor] = []
    if args.anchors:
        try:
            anchors = _read_anchors(args.anchors)
        except (OSError, ValueError) as exc:
            print(f"cannot check anchors: {exc}")
            return 2
    with get_database().session() as session:
        problems = sorted(verify_chain(session) + check_anchors(session, anchors), key=lambda p: p.seq)
        total = count_events(session)
    if not problems:
        print(f"audit trail intact: {total} events" + (f", {len(anchors)} anchors match" if anchors else ""))
        return 0
    for p in problems:
        where = f"seq {p.seq}" + (f" (event id {p.event_id})" if p.event_id is not None else "")
        print(f"{where}: {p.problem}")
    print(f"audit trail NOT intact: {len(problems)} problem(s) in {total} events")
    return 1


def _read_anchors(path: Path) -> list[Anchor]:
    anchors = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip():
            try:
                anchors.append(Anchor.from_json(line))
            except ValueError as exc:
                raise ValueError(f"{path} line {number}: {exc}") from None
    return anchors


def run_anchor(args: argparse.Namespace) -> int:
    with get_database().session() as session:
        anchor = take_anchor(session)
        if anchor is None:
            print("the audit trail is empty: nothing to anchor", file=sys.stderr)
            return 0
        record(session, SYSTEM, AuditAction.EXPORT, "audit_anchor", anchor.seq,
               detail={"via": "cli", "os_user": getpass.getuser(), "out": str(args.out) if args.out else "stdout"})
        line = anchor.to_json() + "\n"
        if args.out:
            with args.out.open("a", encoding="utf-8") as fh:  # appended: earlier anchors stay checkable
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        else:
            sys.stdout.write(line)
    if args.out:
        print(f"anchored seq {anchor.seq} in {args.out}", file=sys.stderr)
    return 0


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
