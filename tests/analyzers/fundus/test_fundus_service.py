"""The fundus analyzer inside the service: a photo uploaded as a fundus exam gets a preliminary report; a picture
that is not a fundus photo (synthetic portrait) is sent back with the QC reason."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fundus_samples import REFERABLE, synthetic_face
from PIL import Image

from dualsign.app import create_app
from dualsign.runtime import Runtime
from tests.core.client import login_cached, upload, wait_for_status
from tests.core.network import build_network

DONE = {"preliminary", "qc_failed", "analysis_failed"}


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_fundus_photo_gets_a_preliminary_report(client: TestClient) -> None:
    tech = login_cached(client, "technologist.a")
    r = upload(client, tech, [REFERABLE], modality="fundus", mrn="F1")
    assert r.status_code == 201, r.text
    exam = wait_for_status(client, tech, r.json()["id"], DONE, timeout=120)
    assert exam["status"] == "preliminary", exam


def test_portrait_uploaded_as_fundus_is_sent_back_with_the_reason(client: TestClient, tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(synthetic_face()).save(buf, format="JPEG")
    p = tmp_path / "portrait.jpg"
    p.write_bytes(buf.getvalue())
    tech = login_cached(client, "technologist.a")
    r = upload(client, tech, [p], modality="fundus", mrn="F2")
    assert r.status_code == 201, r.text
    exam = wait_for_status(client, tech, r.json()["id"], DONE, timeout=120)
    assert exam["status"] == "qc_failed", exam
    assert any("fundus photograph" in reason for reason in exam["qc_reasons"]), exam
