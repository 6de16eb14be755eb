"""Remote reading: an exam from a site with no qualified physician goes to the parent's worklist, and the
worklist puts critical AI results first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from dualsign.app import create_app
from dualsign.runtime import Runtime
from tests.core.client import login_cached, sample_files, upload, wait_for_status
from tests.core.network import build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_township_exam_is_read_at_the_county_and_critical_comes_first(client: TestClient) -> None:
    township, county = login_cached(client, "tech.t"), login_cached(client, "technologist.a")
    routine = upload(client, county, sample_files("HR06004"), mrn="R1").json()["id"]
    critical = upload(client, township, sample_files("mitdb223_vt"), mrn="R2").json()
    assert critical["site"] == "T" and critical["reading_site"] == "A"
    for exam_id, headers in ((routine, county), (critical["id"], township)):
        wait_for_status(client, headers, exam_id, {"preliminary"})

    doc = login_cached(client, "physician.a")
    items = client.get("/api/worklist", headers=doc).json()["items"]
    assert [i["id"] for i in items] == [critical["id"], routine], items
    assert items[0]["urgency"] == "critical" and items[1]["urgency"] != "critical"
    # Another county's physician sees neither; the county's own technologist does not see the township's exam.
    assert client.get("/api/worklist", headers=login_cached(client, "physician.b")).json()["count"] == 0
    assert client.get(f"/api/exams/{critical['id']}", headers=county).status_code == 403

    events = client.get("/api/audit/events", headers=login_cached(client, "auditor.a"),
                        params={"action": "route"}).json()["items"]
    assert [(e["object_id"], e["detail"]["to_site"]) for e in events] == [(str(critical["id"]), "A")]
