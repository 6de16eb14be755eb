"""Thin helpers over FastAPI's TestClient for API tests."""

from __future__ import annotations

import time
import weakref
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import DEMO_SAMPLES
from tests.core.network import PASSWORD


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def sample_files(record: str) -> list[Path]:
    return sorted(p for p in DEMO_SAMPLES.glob(f"{record}.*"))


def upload(client: TestClient, headers: dict[str, str], paths: list[Path], *, mrn: str = "MRN-1",
           modality: str = "ecg", insurance: str | None = "INS-123456") -> Any:
    files = [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    data = {"modality": modality, "patient_mrn": mrn, "patient_name": "Test Patient", "patient_sex": "F",
            "patient_birth_date": "1960-01-01"}
    if insurance:
        data["insurance_number"] = insurance
    return client.post("/api/exams", headers=headers, files=files, data=data)


def wait_for_status(client: TestClient, headers: dict[str, str], exam_id: int, wanted: set[str],
                    timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/exams/{exam_id}", headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in wanted:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"exam {exam_id} stuck in {body['status']}: {body}")
        time.sleep(0.1)


# Keyed by the app object itself, weakly: an id() of a finished test's app can be reused by the next test's app,
# whose database does not know the old token (a 401 that failed a test now and then).
_tokens: weakref.WeakKeyDictionary[Any, dict[str, dict[str, str]]] = weakref.WeakKeyDictionary()


def login_cached(client: TestClient, username: str) -> dict[str, str]:
    """One login per user and app (argon2 is deliberately slow); tokens live for 15 minutes."""
    per_app = _tokens.setdefault(client.app, {})
    if username not in per_app:
        per_app[username] = login(client, username)
    return per_app[username]


def review_all(client: TestClient, headers: dict[str, str], exam_id: int, decision: str = "accepted") -> list[Any]:
    items: list[Any] = client.get(f"/api/exams/{exam_id}/findings", headers=headers).json()["items"]
    for f in items:
        r = client.post(f"/api/exams/{exam_id}/findings/{f['id']}/decision", headers=headers,
                        json={"decision": decision})
        assert r.status_code == 200, r.text
    return items


def signed_exam(client: TestClient, record: str = "E07509", *, tech: str = "technologist.a",
                physician: str = "physician.a", mrn: str = "MRN-S") -> int:
    """Upload a sample, wait for the AI, accept every finding and sign: the id of a final exam."""
    from tests.core.network import PASSWORD

    t, d = login_cached(client, tech), login_cached(client, physician)
    r = upload(client, t, sample_files(record), mrn=mrn)
    assert r.status_code in (200, 201), r.text
    exam_id: int = r.json()["id"]
    assert wait_for_status(client, t, exam_id, {"preliminary", "qc_failed"})["status"] == "preliminary"
    review_all(client, d, exam_id)
    r = client.post(f"/api/exams/{exam_id}/sign", headers=d, json={"password": PASSWORD, "impression": "Reviewed."})
    assert r.status_code == 200, r.text
    return exam_id
