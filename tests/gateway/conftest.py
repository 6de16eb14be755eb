"""Gateway tests: SQLite only (the DICOM paths add nothing backend-specific beyond the core's own
PostgreSQL-tested intake), a DICOM SCP on a free loopback port, and the API app with the gateway loop."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dualsign.app import create_app
from dualsign.gateway.scp import DicomServer
from dualsign.gateway.settings import Destination, GatewaySettings
from dualsign.runtime import Runtime
from tests.core.network import build_network


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'test.db'}"


class Gateway:
    def __init__(self, client: TestClient, server: DicomServer, settings: GatewaySettings) -> None:
        self.client, self.server, self.settings = client, server, settings

    @property
    def port(self) -> int:
        return self.server.port


def start_gateway(runtime: Runtime, destinations: tuple[Destination, ...] = (), port: int | None = None
                  ) -> Iterator[Gateway]:
    build_network(runtime)
    settings = GatewaySettings(ae_title="DUALSIGN", bind="127.0.0.1", port=port or free_port(),
                               peers={"MODALITY_A": "A", "MODALITY_B": "B", "ORTHANC": "A"},
                               destinations=destinations, quiet_seconds=0.5, poll_seconds=0.2,
                               backoff_seconds=0.5)
    app = create_app(runtime)
    app.state.gateway_settings = settings
    with TestClient(app) as client:
        server = DicomServer(runtime, settings, on_stored=app.state.gateway_loop.wake)
        server.start()
        try:
            yield Gateway(client, server, settings)
        finally:
            server.stop()


@pytest.fixture
def gateway(runtime: Runtime) -> Iterator[Gateway]:
    yield from start_gateway(runtime)
