"""The signed report as PDF: both signatures and their check, in Chinese and English; refusals as for reads."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import func, select, update

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.reports.models import Report
from dualsign.runtime import Runtime
from tests.core.client import login_cached, signed_exam
from tests.core.network import build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def _text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_final_report_pdf_in_both_languages(client: TestClient, runtime: Runtime) -> None:
    exam_id = signed_exam(client, mrn="PDF-1")
    doc = login_cached(client, "physician.a")
    versions = client.get(f"/api/exams/{exam_id}/reports", headers=doc).json()["items"]
    final = next(v for v in versions if v["status"] == "final")
    r = client.get(f"/api/exams/{exam_id}/reports/{final['version']}/pdf", headers=doc, params={"lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = " ".join(_text(r.content).split())
    assert "Status: Final" in text
    assert final["content"]["patient"]["name"] in text and final["content"]["exam"]["accession"] in text
    assert "Reviewed." in text  # the physician's impression
    assert "AI signature" in text and "Physician signature" in text
    assert text.count("verified") >= 2 and "NOT VERIFIED" not in text
    assert final["content_sha256"] in text.replace(" ", "")
    zh = client.get(f"/api/exams/{exam_id}/reports/{final['version']}/pdf", headers=doc, params={"lang": "zh"})
    assert zh.status_code == 200 and "诊断报告" in _text(zh.content)
    with runtime.db.session() as s:
        exports = s.scalars(select(AuditEvent).where(AuditEvent.action == "export",
                                                     AuditEvent.object_type == "report")).all()
        assert len(exports) == 2


def test_tampered_report_says_not_verified(client: TestClient, runtime: Runtime) -> None:
    exam_id = signed_exam(client, mrn="PDF-2")
    doc = login_cached(client, "physician.a")
    final = next(v for v in client.get(f"/api/exams/{exam_id}/reports", headers=doc).json()["items"]
                 if v["status"] == "final")
    with runtime.db.session() as s:
        s.execute(update(Report).where(Report.id == final["id"])
                  .values(content_json=func.replace(Report.content_json, "Reviewed.", "Reviewed!")))
    r = client.get(f"/api/exams/{exam_id}/reports/{final['version']}/pdf", headers=doc, params={"lang": "en"})
    assert r.status_code == 200
    assert "NOT VERIFIED" in " ".join(_text(r.content).split())


def test_missing_version_and_other_site(client: TestClient) -> None:
    exam_id = signed_exam(client, mrn="PDF-3")
    assert client.get(f"/api/exams/{exam_id}/reports/99/pdf",
                      headers=login_cached(client, "physician.a")).status_code == 404
    assert client.get(f"/api/exams/{exam_id}/reports/1/pdf",
                      headers=login_cached(client, "physician.b")).status_code == 403
    assert client.get(f"/api/exams/{exam_id}/reports/1/pdf",
                      headers=login_cached(client, "billing.a")).status_code == 403
