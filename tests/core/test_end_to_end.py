"""The whole loop through the API with the real ECG analyzer, on SQLite and on PostgreSQL:
upload -> AI-signed preliminary -> review -> physician signs -> final -> one claim -> amend -> retract."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dualsign.app import create_app
from dualsign.billing.models import Claim
from dualsign.runtime import Runtime
from dualsign.signing.canonical import canonical_json, sha256_hex
from dualsign.signing.keys import verify as verify_signature
from dualsign.signing.models import Signature
from tests.core.client import login, sample_files, upload, wait_for_status
from tests.core.network import PASSWORD, build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_upload_review_sign_amend_retract(client: TestClient, runtime: Runtime) -> None:
    tech = login(client, "technologist.a")
    doc = login(client, "physician.a")
    billing = login(client, "billing.a")

    r = upload(client, tech, sample_files("E07509"))
    assert r.status_code == 201, r.text
    exam_id = r.json()["id"]
    exam = wait_for_status(client, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"})
    assert exam["status"] == "preliminary", exam

    # The preliminary report is AI-signed and says plainly that it is not valid yet.
    reports = client.get(f"/api/exams/{exam_id}/reports", headers=doc).json()["items"]
    assert [r["status"] for r in reports] == ["preliminary"]
    prelim = reports[0]
    assert "not valid until" in prelim["content"]["disclaimer"]["en"]
    assert [s["kind"] for s in prelim["signatures"]] == ["ai"]
    ai_sig = prelim["signatures"][0]
    assert ai_sig["algorithm"] == "SM2-SM3"
    with runtime.db.session() as s:
        signed_payload = s.execute(select(Signature.payload_json)).scalar_one()
    payload = json.loads(signed_payload)
    # Independent check of the AI signature over the canonical payload (content + analyzer identity).
    assert verify_signature(ai_sig["algorithm"], ai_sig["public_key"], signed_payload.encode(), ai_sig["signature"])
    assert payload["content_sha256"] == sha256_hex(
        canonical_json(prelim["content"]))
    assert payload["analyzer"] and payload["model_version"] and len(payload["weights_sha256"]) == 64

    r = client.get(f"/api/exams/{exam_id}/findings", headers=doc)
    assert r.status_code == 200, r.text
    findings = r.json()["items"]
    assert len(findings) >= 2, findings
    # Signing before every finding is reviewed is refused.
    r = client.post(f"/api/exams/{exam_id}/sign", headers=doc, json={"password": PASSWORD, "impression": "x"})
    assert r.status_code == 409 and "not yet reviewed" in r.json()["detail"]

    rejected, accepted = findings[0], findings[1:]
    r = client.post(f"/api/exams/{exam_id}/findings/{rejected['id']}/decision", headers=doc,
                    json={"decision": "rejected"})
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    r = client.post(f"/api/exams/{exam_id}/findings/{rejected['id']}/decision", headers=doc,
                    json={"decision": "rejected", "reason": "artefact, not present on review"})
    assert r.status_code == 200 and r.json()["review_state"] == "rejected"
    for f in accepted:
        r = client.post(f"/api/exams/{exam_id}/findings/{f['id']}/decision", headers=doc,
                        json={"decision": "accepted"})
        assert r.status_code == 200, r.text

    # A wrong password does not sign, and leaves nothing behind.
    r = client.post(f"/api/exams/{exam_id}/sign", headers=doc, json={"password": "wrong-password!", "impression": "x"})
    assert r.status_code == 409 and "password" in r.json()["detail"]
    assert client.get(f"/api/exams/{exam_id}", headers=doc).json()["status"] == "in_review"

    r = client.post(f"/api/exams/{exam_id}/sign", headers=doc,
                    json={"password": PASSWORD, "impression": "Sinus bradycardia with RBBB."})
    assert r.status_code == 200, r.text
    final = r.json()
    assert final["status"] == "final" and final["verified"], final["problems"]
    assert sorted(s["kind"] for s in final["signatures"]) == ["physician"]
    assert final["content"]["rejected_ai_findings"][0]["finding_id"] == rejected["id"]
    assert {f["finding_id"] for f in final["content"]["findings"]} == {f["id"] for f in accepted}
    doc_sig = final["signatures"][0]
    with runtime.db.session() as s:
        sig_payload = s.execute(
            select(Signature.payload_json).where(Signature.signer_kind == "physician")).scalar_one()
    assert json.loads(sig_payload)["ai_signature"]["signature"] == ai_sig["signature"]
    assert verify_signature(doc_sig["algorithm"], doc_sig["public_key"], sig_payload.encode(), doc_sig["signature"])
    assert client.get(f"/api/exams/{exam_id}", headers=doc).json()["status"] == "final"

    # Exactly one claim, with the Category-B split from the catalogue, in integer fen.
    claims = client.get("/api/claims", headers=billing).json()["items"]
    assert len(claims) == 1
    claim = claims[0]
    service = runtime.catalogue.for_modality("ecg")
    expected_self = (service.unit_price_fen * service.self_pay_ratio).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert claim["amount_fen"] == service.unit_price_fen
    assert claim["self_pay_fen"] == int(expected_self)
    assert claim["self_pay_fen"] + claim["fund_fen"] == claim["amount_fen"]

    # Amend: a new signed version, the old one kept and still verifiable; the claim unchanged.
    r = client.post(f"/api/exams/{exam_id}/amend", headers=doc, json={"password": PASSWORD, "reason": "",
                                                                     "impression": "y"})
    assert r.status_code == 409 and "reason" in r.json()["detail"]
    r = client.post(f"/api/exams/{exam_id}/amend", headers=doc,
                    json={"password": PASSWORD, "reason": "QTc added on re-read",
                          "impression": "Sinus bradycardia with RBBB; QTc normal."})
    assert r.status_code == 200, r.text
    versions = client.get(f"/api/exams/{exam_id}/reports", headers=doc).json()["items"]
    assert [(v["version"], v["status"]) for v in versions] == [(1, "preliminary"), (2, "superseded"), (3, "final")]
    assert all(v["verified"] for v in versions), [v["problems"] for v in versions]
    assert client.get("/api/claims", headers=billing).json()["items"] == claims

    # Retract: the claim is reversed by a second, negative entry.
    r = client.post(f"/api/exams/{exam_id}/retract", headers=doc,
                    json={"password": PASSWORD, "reason": "wrong patient"})
    assert r.status_code == 200, r.text
    assert client.get(f"/api/exams/{exam_id}", headers=doc).json()["status"] == "retracted"
    entries = client.get("/api/claims", headers=billing).json()["items"]
    assert sorted(e["entry_kind"] for e in entries) == ["charge", "reversal"]
    assert sum(e["amount_fen"] for e in entries) == 0
    with runtime.db.session() as s:
        assert len(s.scalars(select(Claim)).all()) == 2

    admin = login(client, "admin.a")
    assert client.get("/api/verify", headers=admin).json()["intact"] is True
