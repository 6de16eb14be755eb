"""Orthanc as the hospital PACS on loopback: it forwards an ECG study to dualsign, the report is signed
through the API, and the verified SR arrives back in Orthanc (read through its REST API, parsed by
dcmtk's dsrdump). An amendment sends a new SR that names its predecessor."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest

from dualsign.gateway.settings import Destination
from dualsign.runtime import Runtime
from tests.conftest import DEMO_SAMPLES
from tests.core.client import login_cached, review_all, wait_for_status
from tests.core.network import PASSWORD
from tests.gateway.conftest import Gateway, free_port, start_gateway
from tests.gateway.samples import dcmtk, ecg_dicom
from tests.gateway.test_scp import wait_exam


class Orthanc:
    def __init__(self, http_port: int, dicom_port: int) -> None:
        self.url, self.dicom_port = f"http://127.0.0.1:{http_port}", dicom_port

    def get(self, path: str) -> Any:
        r = httpx.get(self.url + path, timeout=10)
        r.raise_for_status()
        return r.json() if "json" in r.headers.get("content-type", "") else r.content

    def post(self, path: str, body: Any) -> Any:
        r = httpx.post(self.url + path, content=body if isinstance(body, bytes) else json.dumps(body), timeout=30)
        r.raise_for_status()
        return r.json()


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Orthanc]:
    http_port, dicom_port, scp_port = free_port(), free_port(), free_port()
    config = {"Name": "test-pacs", "StorageDirectory": str(tmp_path / "orthanc"),
              "IndexDirectory": str(tmp_path / "orthanc"), "HttpPort": http_port, "DicomPort": dicom_port,
              "DicomAet": "ORTHANC", "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
              "Plugins": [], "DicomModalities": {"dualsign": ["DUALSIGN", "127.0.0.1", scp_port]},
              "DicomAlwaysAllowStore": True, "DicomCheckModalityHost": False, "HttpsVerifyPeers": False}
    (tmp_path / "orthanc.json").write_text(json.dumps(config))
    proc = subprocess.Popen(["Orthanc", str(tmp_path / "orthanc.json")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    pacs = Orthanc(http_port, dicom_port)
    pacs.scp_port = scp_port  # type: ignore[attr-defined]
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                pacs.get("/system")
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("Orthanc did not start") from None
                time.sleep(0.2)
        yield pacs
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def gateway(runtime: Runtime, orthanc: Orthanc) -> Iterator[Gateway]:
    dest = Destination("ORTHANC", "127.0.0.1", orthanc.dicom_port)
    yield from start_gateway(runtime, (dest,), port=orthanc.scp_port)  # type: ignore[attr-defined]


def _srs(pacs: Orthanc, count: int, timeout: float = 60) -> list[pydicom.Dataset]:
    deadline = time.monotonic() + timeout
    while True:
        found = []
        for oid in pacs.get("/instances"):
            if pacs.get(f"/instances/{oid}/simplified-tags").get("Modality") == "SR":
                found.append(pydicom.dcmread(io.BytesIO(pacs.get(f"/instances/{oid}/file"))))
        if len(found) >= count or time.monotonic() > deadline:
            return sorted(found, key=lambda d: int(d.InstanceNumber))
        time.sleep(0.3)


def _numbers(ds: pydicom.Dataset) -> dict[str, tuple[float, str]]:
    out: dict[str, tuple[float, str]] = {}
    for item in ds.get("ContentSequence", []):
        if item.ValueType == "NUM":
            mv = item.MeasuredValueSequence[0]
            out[item.ConceptNameCodeSequence[0].CodeMeaning] = (
                float(mv.NumericValue), mv.MeasurementUnitsCodeSequence[0].CodeValue)
        out.update(_numbers(item))
    return out


def _codes(ds: pydicom.Dataset) -> set[str]:
    out = set()
    for item in ds.get("ContentSequence", []):
        if item.ValueType == "CODE":
            c = item.ConceptCodeSequence[0]
            out.add(f"{c.CodingSchemeDesignator}:{c.CodeValue}")
        out |= _codes(item)
    return out


def test_pacs_forwards_ecg_and_receives_verified_sr(gateway: Gateway, orthanc: Orthanc, runtime: Runtime,
                                                    tmp_path: Path) -> None:
    path = ecg_dicom(tmp_path / "ecg.dcm", patient_id="PACS-1")
    ecg_id = orthanc.post("/instances", path.read_bytes())["ID"]
    orthanc.post("/modalities/dualsign/store", {"Resources": [ecg_id], "Synchronous": True})
    exam_id = wait_exam(runtime, str(pydicom.dcmread(path).StudyInstanceUID))
    c = gateway.client
    doc = login_cached(c, "physician.a")
    assert wait_for_status(c, doc, exam_id, {"preliminary", "qc_failed"})["status"] == "preliminary"
    review_all(c, doc, exam_id)
    r = c.post(f"/api/exams/{exam_id}/sign", headers=doc,
               json={"password": PASSWORD, "impression": "Sinus bradycardia, RBBB."})
    assert r.status_code == 200, r.text

    [sr] = _srs(orthanc, 1)
    assert sr.VerificationFlag == "VERIFIED" and sr.CompletionFlag == "COMPLETE" and sr.PreliminaryFlag == "FINAL"
    observer = sr.VerifyingObserverSequence[0]
    assert observer.VerifyingObserverName.family_name == "Physician.A"
    assert observer.VerifyingOrganization == "County A hospital"
    assert sr.StudyInstanceUID == pydicom.dcmread(path).StudyInstanceUID and sr.PatientID == "PACS-1"
    numbers = _numbers(sr)
    assert numbers["Heart rate"][1] == "/min" and 40 < numbers["Heart rate"][0] < 60
    assert numbers["QRS duration"][1] == "ms" and numbers["QRS duration"][0] >= 120
    assert "SCT:59118001" in _codes(sr)  # right bundle branch block, SNOMED-coded
    sr_file = tmp_path / "sr.dcm"
    sr.save_as(sr_file)
    dump = subprocess.run([dcmtk("dsrdump"), str(sr_file)], capture_output=True, text=True, timeout=30)
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr
    assert "Verification Flag   : VERIFIED" in dump.stdout

    r = c.post(f"/api/exams/{exam_id}/amend", headers=doc,
               json={"password": PASSWORD, "reason": "axis added", "impression": "Sinus bradycardia, RBBB, RAD."})
    assert r.status_code == 200, r.text
    first, second = _srs(orthanc, 2)
    assert second.VerificationFlag == "VERIFIED"
    predecessor = second.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert predecessor.ReferencedSOPInstanceUID == first.SOPInstanceUID


def _instances(pacs: Orthanc, modality: str, count: int, timeout: float = 60) -> list[pydicom.Dataset]:
    deadline = time.monotonic() + timeout
    while True:
        found: list[pydicom.Dataset] = [
            pydicom.dcmread(io.BytesIO(pacs.get(f"/instances/{oid}/file"))) for oid in pacs.get("/instances")
            if pacs.get(f"/instances/{oid}/simplified-tags").get("Modality") == modality]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def _rois(ds: pydicom.Dataset) -> list[pydicom.Dataset]:
    out = []
    for item in ds.get("ContentSequence", []):
        if item.ValueType == "SCOORD3D":
            out.append(item)
        out += _rois(item)
    return out


def test_pacs_forwards_ct_and_receives_nodule_rois_and_key_images(gateway: Gateway, orthanc: Orthanc, runtime: Runtime,
                                                                  tmp_path: Path) -> None:
    """A real CT series (LIDC-IDRI-0001, 11 slices) from the PACS: analysed; the AI's marks kept, a nodule the
    physician adds kept, a second added mark taken back (rejected); signed. The verified SR carries each kept
    nodule as an ellipse in the series' frame of reference with its measurements (the AI's as the analyzer measured
    them, the added one as the physician entered it), the rejected mark not at all; the AI marks' key images arrive
    as Secondary Capture in the same study. (That a rejected AI mark's key image stays out is checked in
    tests/web/test_ct_api.py: on this slab the AI marks the readers' nodule alone.)"""
    slab = sorted((DEMO_SAMPLES / "lidc-idri-0001-slab").iterdir())
    ids = [orthanc.post("/instances", p.read_bytes())["ID"] for p in slab]
    orthanc.post("/modalities/dualsign/store", {"Resources": ids, "Synchronous": True})
    source = pydicom.dcmread(slab[0], stop_before_pixels=True)
    exam_id = wait_exam(runtime, str(source.StudyInstanceUID))
    c = gateway.client
    doc = login_cached(c, "physician.a")
    assert wait_for_status(c, doc, exam_id, {"preliminary", "qc_failed"}, timeout=240)["status"] == "preliminary"
    items = c.get(f"/api/exams/{exam_id}/findings", headers=doc).json()["items"]
    ai = [f for f in items if f["kind"] in ("nodule", "mass")]
    assert ai, "the LIDC-IDRI-0001 nodule must be marked"
    review_all(c, doc, exam_id)
    x, y, z = ai[0]["location"]["center_mm"]
    marks = []
    for dx, long_mm in ((-60.0, 6.0), (-80.0, 5.0)):
        r = c.post(f"/api/exams/{exam_id}/findings", headers=doc, json={
            "kind": "nodule", "label": f"Solid nodule {long_mm:g} mm", "location": {"center_mm": [x + dx, y, z]},
            "measurements": {"long_axis_mm": long_mm, "short_axis_mm": long_mm - 1.0}})
        assert r.status_code == 201, r.text
        marks.append(r.json())
    added, rejected = marks
    r = c.post(f"/api/exams/{exam_id}/findings/{rejected['id']}/decision", headers=doc,
               json={"decision": "rejected", "reason": "a vessel on review"})
    assert r.status_code == 200, r.text
    kept = [*ai, added]
    r = c.post(f"/api/exams/{exam_id}/sign", headers=doc, json={"password": PASSWORD, "impression": "Nodule LLZ."})
    assert r.status_code == 200, r.text

    [sr] = _srs(orthanc, 1)
    assert sr.VerificationFlag == "VERIFIED" and sr.StudyInstanceUID == source.StudyInstanceUID
    rois = _rois(sr)
    assert len(rois) == len(kept)
    assert {str(roi.ReferencedFrameOfReferenceUID) for roi in rois} == {str(source.FrameOfReferenceUID)}
    for roi in rois:  # each ellipse is a kept nodule: its centre and long axis as the analyzer measured them
        assert roi.GraphicType == "ELLIPSE"
        pts = [float(v) for v in roi.GraphicData]
        centre = [(pts[0] + pts[3]) / 2, (pts[1] + pts[4]) / 2, (pts[2] + pts[5]) / 2]
        f = min(kept, key=lambda k: sum((a - b) ** 2 for a, b in zip(k["location"]["center_mm"], centre, strict=True)))
        assert centre == pytest.approx(f["location"]["center_mm"], abs=0.05)
        assert pts[3] - pts[0] == pytest.approx(f["measurements"]["long_axis_mm"], abs=0.05)
    numbers = _numbers(sr)
    assert numbers["long_axis_mm"][1] == "mm" and numbers["volume_mm3"][1] == "mm3"
    sr_file = tmp_path / "sr.dcm"
    sr.save_as(sr_file)
    dump = subprocess.run([dcmtk("dsrdump"), str(sr_file)], capture_output=True, text=True, timeout=30)
    assert dump.returncode == 0 and "E:" not in dump.stderr, dump.stderr

    key_images = _instances(orthanc, "OT", len(ai))
    assert len(key_images) == len(ai)  # the AI's kept marks; an added mark has no key image
    for sc in key_images:
        assert sc.StudyInstanceUID == source.StudyInstanceUID and sc.PatientID == source.PatientID
        assert sc.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and sc.pixel_array.ndim == 3
