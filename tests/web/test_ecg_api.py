"""GET /api/exams/{id}/ecg: the waveform for display. Physicians of the reading site only; audited read;
the static workstation is served without the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.runtime import Runtime
from tests.core.client import login_cached, sample_files, upload, wait_for_status
from tests.core.network import build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_waveform_for_the_reading_physician_only(client: TestClient, runtime: Runtime) -> None:
    tech = login_cached(client, "technologist.a")
    exam_id = upload(client, tech, sample_files("E07509")).json()["id"]
    assert wait_for_status(client, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"})["status"] \
        == "preliminary"

    r = client.get(f"/api/exams/{exam_id}/ecg", headers=login_cached(client, "physician.a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["leads"][:3] == ["I", "II", "III"] and len(body["samples"]) == 12
    assert body["fs_hz"] == 500 and all(len(lead) == 5000 for lead in body["samples"])  # 10 s, not decimated
    assert all(-32768 <= v <= 32767 for lead in body["samples"] for v in lead) and body["unit"] == "uV"
    assert body["beats"] and all(0 <= b["t_s"] < 10 and b["label"] for b in body["beats"])
    assert body["measurements"]["hr_bpm"] > 0

    later = client.get(f"/api/exams/{exam_id}/ecg?start_s=8&seconds=5", headers=login_cached(client, "physician.a"))
    assert later.json()["start_s"] == 8 and len(later.json()["samples"][0]) == 1000  # the record ends at 10 s

    for user, code in (("physician.b", 403), ("technologist.a", 403), ("billing.a", 403), ("auditor.a", 403)):
        assert client.get(f"/api/exams/{exam_id}/ecg", headers=login_cached(client, user)).status_code == code, user
    assert client.get("/api/exams/999999/ecg", headers=login_cached(client, "physician.a")).status_code == 404

    with runtime.db.session() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "ecg-waveform")).all()
        assert [(e.action, e.actor, e.outcome) for e in reads] == [("read", "physician.a", "success")] * 2
        denied = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).all()
        assert {e.actor for e in denied} >= {"physician.b", "technologist.a", "billing.a", "auditor.a"}


def test_workstation_served_locally(client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/app/"
    page = client.get("/app/")
    assert page.status_code == 200 and 'src="/app/js/main.js"' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # no CDN: everything from dualsign
    assert client.get("/app/js/viewers/ecg.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/app/#/worklist").status_code == 200
    assert client.get("/app/js/missing.js").status_code == 404
    assert client.get("/app/..%2F..%2Fapp.py").status_code == 404
