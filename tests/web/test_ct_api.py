"""A real chest CT through the API: analysed, its key images stored and served, and the viewer's data
(geometry from the DICOM headers, windowed slices). Physicians of the reading site only; audited."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.reports import service as reports
from dualsign.reports.models import Report
from dualsign.runtime import Runtime
from tests.conftest import DEMO_SAMPLES
from tests.core.client import login_cached, review_all, upload, wait_for_status
from tests.core.network import PASSWORD, build_network

SLAB = DEMO_SAMPLES / "lidc-idri-0001-slab"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def _ct_exam(client: TestClient) -> dict[str, Any]:
    tech = login_cached(client, "technologist.a")
    r = upload(client, tech, sorted(SLAB.iterdir()), modality="chest_ct", mrn="CT-1")
    assert r.status_code == 201, r.text
    return wait_for_status(client, tech, r.json()["id"], {"preliminary", "qc_failed", "analysis_failed"},
                           timeout=240)


def test_ct_exam_key_images_and_viewer(client: TestClient, runtime: Runtime) -> None:
    exam = _ct_exam(client)
    assert exam["status"] == "preliminary", exam
    doc = login_cached(client, "physician.a")
    nodules = [f for f in client.get(f"/api/exams/{exam['id']}/findings", headers=doc).json()["items"]
               if f["kind"] in ("nodule", "mass")]
    assert nodules, "the LIDC-IDRI-0001 nodule must be marked"
    # Every key image a finding names is stored and served as a PNG of the CT slice.
    detail = client.get(f"/api/exams/{exam['id']}", headers=doc).json()
    for f in nodules:
        name = f["location"]["key_image"]
        assert name in detail["images"]
        png = client.get(f"/api/exams/{exam['id']}/images/{name}", headers=doc)
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size[0] >= 256

    # Geometry: from the DICOM headers the viewer needs to put marks and clicks in patient coordinates.
    headers = sorted((pydicom.dcmread(p, stop_before_pixels=True) for p in SLAB.iterdir()),
                     key=lambda d: float(d.ImagePositionPatient[2]))
    geo = client.get(f"/api/exams/{exam['id']}/ct", headers=doc).json()
    assert (geo["slices"], geo["rows"], geo["columns"]) == (len(headers), headers[0].Rows, headers[0].Columns)
    assert geo["spacing_mm"][0] == pytest.approx(float(headers[1].ImagePositionPatient[2])
                                                 - float(headers[0].ImagePositionPatient[2]), abs=0.01)
    assert geo["spacing_mm"][1:] == pytest.approx([float(v) for v in headers[0].PixelSpacing])
    first = [float(v) for v in headers[0].ImagePositionPatient]
    assert geo["origin_lps"] == pytest.approx(first, abs=0.01)
    for f in nodules:  # the mark's voxel and its LPS millimetres agree through the served geometry
        z, y, x = f["location"]["center_voxel"]
        axes, sp = np.array(geo["axes"]), geo["spacing_mm"]
        lps = np.array(geo["origin_lps"]) + axes @ np.array([x * sp[2], y * sp[1], z * sp[0]])
        assert lps == pytest.approx(f["location"]["center_mm"], abs=1.0)

    # Slices: windowed 8-bit PNG; the lung window shows lung parenchyma grey where the mediastinal is black.
    k = nodules[0]["location"]["center_voxel"][0]
    lung = np.asarray(Image.open(io.BytesIO(client.get(f"/api/exams/{exam['id']}/ct/slices/{k}",
                                                       headers=doc).content)))
    media = np.asarray(Image.open(io.BytesIO(client.get(f"/api/exams/{exam['id']}/ct/slices/{k}",
                                                        headers=doc, params={"window": "mediastinal"}).content)))
    assert lung.shape == media.shape == (geo["rows"], geo["columns"])
    hu = pydicom.dcmread(sorted(SLAB.iterdir(), key=lambda p: float(
        pydicom.dcmread(p, stop_before_pixels=True).ImagePositionPatient[2]))[k])
    values = hu.pixel_array * float(hu.RescaleSlope) + float(hu.RescaleIntercept)
    parenchyma = (values > -900) & (values < -700)
    assert lung[parenchyma].mean() > 40 and media[parenchyma].max() == 0
    assert client.get(f"/api/exams/{exam['id']}/ct/slices/{geo['slices']}", headers=doc).status_code == 404
    assert client.get(f"/api/exams/{exam['id']}/ct/slices/0", headers=doc,
                      params={"window": "bone"}).status_code == 422

    # Only the reading site's physicians; the opening of the volume is audited.
    assert client.get(f"/api/exams/{exam['id']}/ct", headers=login_cached(client, "physician.b")).status_code == 403
    assert client.get(f"/api/exams/{exam['id']}/ct",
                      headers=login_cached(client, "technologist.a")).status_code == 403
    with runtime.db.session() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.object_type == "ct-volume",
                                                  AuditEvent.outcome == "success")).all()


def test_a_rejected_ai_mark_brings_no_key_image_into_the_signed_version(client: TestClient, runtime: Runtime) -> None:
    """The preliminary version carries the key image of every AI mark; once the physician rejects a mark and signs,
    the signed version's key images (what goes to the PACS) leave the rejected one out."""
    exam = _ct_exam(client)
    assert exam["status"] == "preliminary", exam
    doc = login_cached(client, "physician.a")
    nodules = [f for f in review_all(client, doc, exam["id"]) if f["kind"] in ("nodule", "mass")]
    assert nodules, "the LIDC-IDRI-0001 nodule must be marked"
    rejected = nodules[0]
    r = client.post(f"/api/exams/{exam['id']}/findings/{rejected['id']}/decision", headers=doc,
                    json={"decision": "rejected", "reason": "not a nodule on review"})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/exams/{exam['id']}/sign", headers=doc, json={"password": PASSWORD, "impression": "None."})
    assert r.status_code == 200, r.text
    with runtime.db.session() as s:
        versions = s.scalars(select(Report).where(Report.exam_id == exam["id"]).order_by(Report.version)).all()
        assert [v.status for v in versions][0] == "preliminary" and versions[-1].status == "final"
        before, after = ({name for name, _ in reports.key_images(s, runtime.store, exam["id"],
                                                                 json.loads(v.content_json))}
                         for v in (versions[0], versions[-1]))
    names = {f["location"]["key_image"] for f in nodules}
    assert before == names
    assert after == names - {rejected["location"]["key_image"]}
