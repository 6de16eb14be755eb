"""The `dualsign` command. Each domain contributes its own sub-commands through add_parser()."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from dualsign.analyzers import cli as analyze_cli
from dualsign.audit import cli as audit_cli
from dualsign.billing import cli as billing_cli
from dualsign.gateway import cli as gateway_cli
from dualsign.signing import cli as signing_cli


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from dualsign import migrate
    from dualsign.app import create_app
    from dualsign.demo import seed
    from dualsign.runtime import get_runtime

    rt = get_runtime()
    migrate.upgrade(rt.settings.database_url)
    if args.demo and seed.seed_accounts(rt):
        seed.seed_exams(rt)
        print(f"demo data created; every demo account's password is {seed.DEMO_PASSWORD!r} "
              f"(physician: dr.zhang, billing: billing.yang, auditor: auditor.zhao, admin: admin)")
    host = args.host or rt.settings.host
    port = args.port or rt.settings.port
    print(f"dualsign serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(rt, start_worker=not args.no_worker), host=host, port=port, log_level="info")
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from dualsign import migrate
    from dualsign.settings import get_settings

    migrate.upgrade(get_settings().database_url)
    print("database schema is up to date")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from dualsign.audit import service as audit
    from dualsign.runtime import get_runtime
    from dualsign.signing import service as signing

    rt = get_runtime()
    with rt.db.session() as session:
        checked, problems = signing.verify_all(session, rt.service_public_keys)
        audit.record(session, audit.SYSTEM, "verify", "report", None,
                     outcome="success" if not problems else "failure",
                     detail={"checked": checked, "problems": len(problems), "via": "cli"})
    for p in problems:
        print(f"report {p.report_id} (exam {p.exam_id}, version {p.version}): {p.problem}")
    if problems:
        bad = len({p.report_id for p in problems})
        print(f"FAILED: {bad} of {checked} report version(s) do not match what was signed")
        return 1
    print(f"all {checked} report version(s) verify: signatures and content hashes intact")
    return 0


def _worker(args: argparse.Namespace) -> int:
    """A Celery worker process (scale-out path); the in-process worker needs no command."""
    from dualsign import migrate
    from dualsign.runtime import get_runtime
    from dualsign.worker.celery_app import StaleSweeper, app, dispatch_queued

    rt = get_runtime()
    migrate.upgrade(rt.settings.database_url)
    sweeper = StaleSweeper(rt.db, rt.settings.analysis_lease_seconds)
    sweeper.sweep()  # exams left 'analyzing' by a worker that died and has been silent a whole lease
    dispatch_queued(rt.db)  # anything queued while no worker ran
    rt.db.engine.dispose()  # the pool processes fork from here: let each open its own connections
    sweeper.start()
    try:
        app.worker_main(["worker", "--loglevel=INFO", f"--concurrency={args.concurrency}", "--pool=prefork"])
    finally:
        sweeper.stop()
    return 0


def _add_core(sub: Any) -> None:
    p = sub.add_parser("serve", help="start the API and the in-process worker")
    p.add_argument("--demo", action="store_true", help="create demo sites, users and exams if the database is empty")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--no-worker", action="store_true", help="serve the API only (workers run elsewhere)")
    p.set_defaults(func=_serve)
    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    up = db.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=_db_upgrade)
    v = sub.add_parser("verify", help="re-check every report signature and content hash")
    v.set_defaults(func=_verify)
    w = sub.add_parser("worker", help="run a Celery analysis worker (DUALSIGN_WORKER=celery)")
    w.add_argument("--concurrency", type=int, default=2)
    w.set_defaults(func=_worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dualsign", description="AI preliminary reports co-signed by physicians")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_core(sub)
    analyze_cli.add_parser(sub)
    audit_cli.add_parser(sub)
    billing_cli.add_parser(sub)
    gateway_cli.add_parser(sub)
    signing_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    # Every command here either analyses (analyze, serve with its in-process workers, worker) or is short-lived.
    from dualsign.worker.allocator import keep_freed_memory

    keep_freed_memory()
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
