"""`dualsign dicom-scp`: the DICOM listener plus the gateway loop (study assembly, results to PACS)."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any


def _dicom_scp(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from dualsign import migrate
    from dualsign.gateway.loop import GatewayLoop
    from dualsign.gateway.scp import DicomServer
    from dualsign.gateway.settings import GatewaySettings
    from dualsign.runtime import get_runtime

    rt = get_runtime()
    migrate.upgrade(rt.settings.database_url)
    settings = GatewaySettings.from_env()
    if args.port is not None:
        settings = replace(settings, port=args.port)
    if args.ae_title:
        settings = replace(settings, ae_title=args.ae_title)
    if not settings.peers:
        print("no calling AE titles allowed: set DUALSIGN_DICOM_PEERS=AE=SITE[,...] or DUALSIGN_DICOM_CONFIG")
        return 2
    rt.start_worker(analyse_here=not args.no_worker)
    loop = GatewayLoop(rt, settings)
    server = DicomServer(rt, settings, on_stored=loop.wake)
    server.start()
    loop.start()
    print(f"DICOM SCP {settings.ae_title} on {settings.bind}:{server.port}; peers: "
          f"{', '.join(f'{k}->{v}' for k, v in settings.peers.items())}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.stop()
    loop.stop()
    if rt.dispatcher is not None:
        rt.dispatcher.stop()
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("dicom-scp", help="receive exams over DICOM (C-STORE) and send signed SRs back to PACS")
    p.add_argument("--port", type=int, help="listening port (default DUALSIGN_DICOM_PORT or 11112)")
    p.add_argument("--ae-title", help="our AE title (default DUALSIGN_DICOM_AE_TITLE or DUALSIGN)")
    p.add_argument("--no-worker", action="store_true", help="leave analysis to another process")
    p.set_defaults(func=_dicom_scp)
