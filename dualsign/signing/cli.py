"""`dualsign service-key status` and `dualsign service-key seal`: the AI service's signing key at rest."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from dualsign.audit.service import SYSTEM, AuditAction, record
from dualsign.settings import get_settings
from dualsign.signing.keys import ALGORITHMS
from dualsign.signing.service_key import PASSPHRASE_HINT, ServiceKeyError, seal_service_keys, service_key_path


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("service-key", help="the AI service's signing key: whether it is sealed; seal it")
    commands = parser.add_subparsers(dest="service_key_command", required=True)
    status = commands.add_parser("status", help="each service key file, sealed or not, and its public key")
    status.set_defaults(func=run_status)
    seal = commands.add_parser(
        "seal", help=f"seal every unsealed service key with the passphrase of {PASSPHRASE_HINT}"
    )
    seal.set_defaults(func=run_seal)


def run_status(args: argparse.Namespace) -> int:
    keys_dir = get_settings().keys_dir
    found = 0
    for algorithm in ALGORITHMS:
        path = service_key_path(keys_dir, algorithm)
        if not path.exists():
            continue
        found += 1
        try:
            data = json.loads(path.read_text("utf-8"))
            state = "sealed" if "private_key_sealed" in data else "NOT sealed (stored unencrypted)"
            print(f"{path}: {algorithm}, {state}, public key {data['public_key']}")
        except (OSError, ValueError, KeyError) as exc:
            print(f"{path}: unreadable ({exc})")
    if not found:
        print(f"no service key in {keys_dir} yet (it is created on the first start)")
    return 0


def run_seal(args: argparse.Namespace) -> int:
    settings = get_settings()
    try:
        sealed = seal_service_keys(settings.keys_dir, settings.service_key_passphrase)
    except ServiceKeyError as exc:
        print(f"not sealed: {exc}")
        return 1
    if not sealed:
        print(f"nothing to seal in {settings.keys_dir}: every service key there is sealed already, or none exists")
        return 0
    from dualsign.runtime import get_database

    with get_database().session() as session:
        record(session, SYSTEM, AuditAction.UPDATE, "service_key", None,
               detail={"via": "cli", "os_user": getpass.getuser(), "sealed": [p.name for p in sealed]})
    for path in sealed:
        print(f"sealed {path}; the service now needs the passphrase to start and to sign: keep it safe")
    return 0
