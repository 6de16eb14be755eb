"""Bad input and refused actions: each gets a clear error and nothing is left half-written."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dualsign.app import create_app
from dualsign.billing.models import Claim
from dualsign.db import Base
from dualsign.exams.models import Exam
from dualsign.reports.models import Report
from dualsign.runtime import Runtime
from dualsign.signing.models import Signature
from tests.core.client import login_cached, review_all, sample_files, upload, wait_for_status
from tests.core.network import PASSWORD, build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def _count(runtime: Runtime, model: type[Base]) -> int:
    with runtime.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_unknown_modality_is_refused_and_nothing_stored(client: TestClient, runtime: Runtime) -> None:
    r = upload(client, login_cached(client, "technologist.a"), sample_files("HR06004"), modality="mri")
    assert r.status_code == 422 and "unknown modality 'mri'" in r.json()["detail"]
    assert _count(runtime, Exam) == 0


def test_unreadable_files_keep_the_exam_and_explain(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    # A file no ECG reader recognises: kept as an exam that failed QC, with the reason for the sender.
    files = [("files", ("scan.pdf", b"%PDF-1.4 not an ECG", "application/pdf"))]
    r = client.post("/api/exams", headers=tech, files=files,
                    data={"modality": "ecg", "patient_mrn": "B1", "patient_name": "P"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "qc_failed" and "scan.pdf" in body["qc_reasons"][0]
    # A WFDB header whose data file is truncated: recognised, then rejected by the analyzer with the reason.
    dat, hea = sample_files("mitdb223_vt")  # sorted: .dat before .hea
    r = client.post("/api/exams", headers=tech, data={"modality": "ecg", "patient_mrn": "B2", "patient_name": "P"},
                    files=[("files", (hea.name, hea.read_bytes())), ("files", (dat.name, dat.read_bytes()[:5000]))])
    assert r.status_code == 201, r.text
    exam = wait_for_status(client, tech, r.json()["id"], {"qc_failed", "preliminary", "analysis_failed"})
    assert exam["status"] == "qc_failed", exam
    assert exam["qc_reasons"] and exam["files"], exam
    listed = client.get("/api/exams", headers=tech, params={"status": "qc_failed"}).json()
    assert listed["count"] == 2


def test_same_files_twice_are_one_exam(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    first = upload(client, tech, sample_files("HR06004"), mrn="D1")
    second = upload(client, tech, list(reversed(sample_files("HR06004"))), mrn="D1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"] and second.json()["duplicate"] is True
    other_patient = upload(client, tech, sample_files("HR06004"), mrn="D2")
    assert other_patient.status_code == 422 and "another patient" in other_patient.json()["detail"]
    assert _count(runtime, Exam) == 1


def test_empty_file_and_missing_patient_are_refused(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    r = client.post("/api/exams", headers=tech, files=[("files", ("x.hea", io.BytesIO(b"")))],
                    data={"modality": "ecg", "patient_mrn": "E1", "patient_name": "P"})
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = client.post("/api/exams", headers=tech, files=[("files", ("x.hea", b"x"))],
                    data={"modality": "ecg", "patient_mrn": " ", "patient_name": "P"})
    assert r.status_code == 422 and "record number" in r.json()["detail"]
    assert _count(runtime, Exam) == 0


@pytest.fixture
def reviewed_exam(client: TestClient) -> int:
    tech, doc = login_cached(client, "technologist.a"), login_cached(client, "physician.a")
    r = upload(client, tech, sample_files("E07509"), mrn="S1")
    assert r.status_code == 201, r.text
    exam_id: int = r.json()["id"]
    assert wait_for_status(client, tech, exam_id, {"preliminary", "qc_failed"})["status"] == "preliminary"
    review_all(client, doc, exam_id)
    return exam_id


@pytest.mark.parametrize("who, why", [("expired.a", "not valid on"), ("ctonly.a", "not qualified to sign ecg")])
def test_unqualified_or_expired_physician_cannot_sign(client: TestClient, runtime: Runtime, reviewed_exam: int,
                                                      who: str, why: str) -> None:
    r = client.post(f"/api/exams/{reviewed_exam}/sign", headers=login_cached(client, who),
                    json={"password": PASSWORD, "impression": "x"})
    assert r.status_code == 409 and why in r.json()["detail"], r.text
    assert _count(runtime, Report) == 1 and _count(runtime, Claim) == 0
    events = client.get("/api/audit/events", headers=login_cached(client, "auditor.a"),
                        params={"actor": who, "outcome": "failure"}).json()["items"]
    assert events and why in events[-1]["detail"]["why"]


def test_two_physicians_signing_at_once_make_one_final_report(client: TestClient, runtime: Runtime,
                                                              reviewed_exam: int) -> None:
    heads = [login_cached(client, "physician.a"), login_cached(client, "physician.a2")]
    barrier = threading.Barrier(2)
    results: list[tuple[int, str]] = []

    def sign(h: dict[str, str]) -> None:
        barrier.wait()
        r = client.post(f"/api/exams/{reviewed_exam}/sign", headers=h, json={"password": PASSWORD, "impression": "x"})
        results.append((r.status_code, r.text))

    threads = [threading.Thread(target=sign, args=(h,)) for h in heads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _ in results)
    assert codes == [200, 409], results
    loser = next(text for code, text in results if code == 409)
    assert "final" in loser or "someone else" in loser
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Report).where(Report.status == "final")) == 1
        assert s.scalar(select(func.count()).select_from(Signature).where(Signature.signer_kind == "physician")) == 1
        assert s.scalar(select(func.count()).select_from(Claim)) == 1


def test_laterality_is_r_or_l_and_kept(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    files = [("files", ("eye.pdf", b"%PDF-1.4 not a photo", "application/pdf"))]
    r = client.post("/api/exams", headers=tech, files=files,
                    data={"modality": "fundus", "patient_mrn": "L1", "patient_name": "P", "laterality": "left"})
    assert r.status_code == 422 and "laterality 'left'" in r.json()["detail"]
    assert _count(runtime, Exam) == 0
    r = client.post("/api/exams", headers=tech, files=files,
                    data={"modality": "fundus", "patient_mrn": "L1", "patient_name": "P", "laterality": "L"})
    assert r.status_code == 201, r.text
    assert client.get(f"/api/exams/{r.json()['id']}", headers=tech).json()["laterality"] == "L"


def test_missing_image_is_a_clear_404(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    r = upload(client, tech, sample_files("HR06004"))
    assert r.status_code == 201, r.text
    exam = wait_for_status(client, tech, r.json()["id"], {"preliminary"})
    assert client.get(f"/api/exams/{exam['id']}", headers=tech).json()["images"] == []
    got = client.get(f"/api/exams/{exam['id']}/images/nodule-1.png", headers=tech)
    assert got.status_code == 404 and "no image 'nodule-1.png'" in got.json()["detail"]
