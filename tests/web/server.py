"""The real service on a free port in a background thread (uvicorn), and Debian's Chromium to drive it.

The browser is the system package (/usr/bin/chromium, `apt-get install chromium`): Playwright's own
browser download cannot work without internet."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

from dualsign import migrate
from dualsign.app import create_app
from dualsign.runtime import Runtime, build_runtime
from tests.conftest import make_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(home: Path, *, worker: bool = True) -> Iterator[tuple[str, Runtime]]:
    """A migrated SQLite home and the whole app (with its in-process worker) at the yielded base URL."""
    url = f"sqlite:///{home / 'dualsign.db'}"
    migrate.upgrade(url)
    rt = build_runtime(make_settings(home, url))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(rt, start_worker=worker), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="dualsign-web-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the dualsign server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", rt
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        rt.db.engine.dispose()


def api_login(base: str, username: str, password: str) -> dict[str, str]:
    r = httpx.post(f"{base}/api/auth/token", data={"username": username, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
