"""A real fundus photograph through the API: the viewer gets the photo itself and the AI's marks in the
photo's own pixels. Physicians of the reading site only; audited."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.runtime import Runtime
from tests.conftest import DEMO_SAMPLES
from tests.core.client import login_cached, upload, wait_for_status
from tests.core.network import build_network

PHOTO = DEMO_SAMPLES / "fundus" / "idrid_46.jpg"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_fundus_photo_and_marks(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    r = upload(client, tech, [PHOTO], modality="fundus", mrn="F-1")
    assert r.status_code == 201, r.text
    exam = wait_for_status(client, tech, r.json()["id"], {"preliminary", "qc_failed", "analysis_failed"})
    assert exam["status"] == "preliminary", exam
    doc = login_cached(client, "physician.a")
    marks = client.get(f"/api/exams/{exam['id']}/fundus", headers=doc).json()
    original = Image.open(PHOTO)
    assert [marks["width"], marks["height"]] == list(original.size)
    served = client.get(f"/api/exams/{exam['id']}/fundus/image", headers=doc)
    assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    photo = Image.open(io.BytesIO(served.content))
    assert photo.size == original.size and photo.mode == "RGB"
    # The served pixels are the photo's (JPEG decoding may differ by rounding only).
    diff = np.abs(np.asarray(photo, dtype=int) - np.asarray(original.convert("RGB"), dtype=int))
    assert float(diff.mean()) < 1.0
    for lesion in marks["lesions"]:  # every box lies on the photo
        x0, y0, x1, y1 = lesion["box"]
        assert 0 <= x0 < x1 <= marks["width"] and 0 <= y0 < y1 <= marks["height"]
    if marks["optic_disc"]:
        cx, cy = marks["optic_disc"]["centre_xy"]
        assert 0 <= cx < marks["width"] and 0 <= cy < marks["height"]
    # Lesion findings carry the same boxes the viewer draws.
    findings = client.get(f"/api/exams/{exam['id']}/findings", headers=doc).json()["items"]
    boxed = sorted(tuple(b) for f in findings if f["kind"] == "lesion" for b in f["location"]["boxes"])
    assert boxed == sorted(tuple(lesion["box"]) for lesion in marks["lesions"])

    for who in ("physician.b", "technologist.a", "billing.a"):
        for path in ("fundus", "fundus/image"):
            assert client.get(f"/api/exams/{exam['id']}/{path}", headers=login_cached(client, who)).status_code == 403
    with runtime.db.session() as s:
        kinds = set(s.scalars(select(AuditEvent.object_type).where(AuditEvent.outcome == "success")))
    assert {"fundus-marks", "fundus-image"} <= kinds
