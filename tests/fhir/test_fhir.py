"""FHIR R4 views follow the report: DiagnosticReport preliminary -> final -> amended -> entered-in-error,
Observations per measured finding, a Provenance with both signatures; every resource validates against
the R4B models; role and site checked, reads audited."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codeableconcept import CodeableConcept
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.extension import Extension
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.provenance import Provenance
from sqlalchemy import select

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.runtime import Runtime
from dualsign.signing.keys import verify as verify_signature
from dualsign.signing.models import Signature
from tests.core.client import login_cached, review_all, sample_files, upload, wait_for_status
from tests.core.network import PASSWORD, build_network


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def _report(c: TestClient, headers: dict[str, str], accession: str) -> DiagnosticReport:
    r = c.get(f"/fhir/DiagnosticReport/{accession}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/fhir+json")
    return DiagnosticReport.model_validate(r.json())


def _first_code(concept: CodeableConcept | None) -> str | None:
    assert concept is not None and concept.coding is not None
    return concept.coding[0].code


def _extension_string(extensions: list[Extension] | None, url_suffix: str) -> str | None:
    """valueString of the first extension whose url ends with url_suffix."""
    assert extensions is not None
    for e in extensions:
        assert e.url is not None
        if e.url.endswith(url_suffix):
            return e.valueString
    raise AssertionError(f"no extension with a url ending in {url_suffix!r}")


def test_diagnostic_report_follows_the_report(client: TestClient, runtime: Runtime) -> None:
    c = client
    tech, doc = login_cached(c, "technologist.a"), login_cached(c, "physician.a")
    r = upload(c, tech, sample_files("E07509"), mrn="MRN-FHIR")
    exam = wait_for_status(c, tech, r.json()["id"], {"preliminary", "qc_failed"})
    assert exam["status"] == "preliminary"
    acc, exam_id, patient_id = exam["accession"], exam["id"], exam["patient"]["id"]

    pre = _report(c, doc, acc)
    assert pre.status == "preliminary" and "not valid until" in (pre.conclusion or "")
    assert _report(c, tech, acc).status == "preliminary"  # the sending site's technologist may read it

    review_all(c, doc, exam_id)
    r = c.post(f"/api/exams/{exam_id}/sign", headers=doc, json={"password": PASSWORD, "impression": "Sinus brady."})
    assert r.status_code == 200, r.text
    final = _report(c, doc, acc)
    assert final.status == "final" and final.conclusion == "Sinus brady."
    assert final.resultsInterpreter is not None and final.resultsInterpreter[0].display == "Physician.A"
    assert final.conclusionCode is not None
    assert {_first_code(cc) for cc in final.conclusionCode} >= {"59118001"}  # RBBB, SNOMED
    assert final.result, "an Observation per measured finding"
    for ref in final.result:
        r = c.get(f"/fhir/{ref.reference}", headers=doc)
        assert r.status_code == 200, r.text
        obs = Observation.model_validate(r.json())
        assert obs.status == "final" and obs.component is not None
        for comp in obs.component:
            assert comp.valueQuantity is not None and comp.valueQuantity.system == "http://unitsofmeasure.org"

    # The Provenance of the signed version carries both signatures, each verifiable as given.
    r = c.get("/fhir/Provenance", headers=doc, params={"target": f"DiagnosticReport/{acc}"})
    bundle = Bundle.model_validate(r.json())
    prov = Provenance.model_validate(r.json()["entry"][1]["resource"])
    assert [_first_code(a.type) for a in prov.agent] == ["author", "verifier"]
    with runtime.db.session() as s:
        sigs = {sig.signer_kind: sig for sig in s.scalars(select(Signature))}
    raw_json = r.json()["entry"][1]["resource"]["signature"]
    assert prov.signature is not None
    for sig, data, kind in zip(prov.signature, raw_json, ("ai", "physician"), strict=True):
        alg = _extension_string(sig.extension, "algorithm")
        assert alg == "SM2-SM3" and sig.sigFormat and sig.targetFormat == "application/json"
        raw = base64.b64decode(data["data"])
        assert raw.hex() == sigs[kind].signature
        assert verify_signature(alg, sigs[kind].public_key, sigs[kind].payload_json.encode(), raw.hex())
    assert bundle.total == 2

    r = c.post(f"/api/exams/{exam_id}/amend", headers=doc,
               json={"password": PASSWORD, "reason": "QTc added", "impression": "Sinus brady; QTc normal."})
    assert r.status_code == 200, r.text
    amended = _report(c, doc, acc)
    assert amended.status == "amended" and amended.meta is not None and amended.meta.versionId == "3"
    r = c.post(f"/api/exams/{exam_id}/retract", headers=doc, json={"password": PASSWORD, "reason": "wrong patient"})
    assert r.status_code == 200, r.text
    retracted = _report(c, doc, acc)
    assert retracted.status == "entered-in-error"

    r = c.get("/fhir/DiagnosticReport", headers=doc, params={"subject": f"Patient/{patient_id}"})
    assert [e["resource"]["status"] for e in Bundle.model_validate(r.json()).model_dump()["entry"]] \
        == ["entered-in-error"]
    with runtime.db.session() as s:
        reads = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "fhir:DiagnosticReport")).all()
    assert len(reads) >= 6 and all(e.outcome == "success" for e in reads)


def test_roles_and_sites(client: TestClient) -> None:
    c = client
    tech = login_cached(c, "technologist.a")
    r = upload(c, tech, sample_files("E07509"), mrn="MRN-ROLES")
    acc = wait_for_status(c, tech, r.json()["id"], {"preliminary", "qc_failed"})["accession"]
    for user, code in (("physician.b", 403), ("technologist.b", 403), ("billing.a", 403), ("auditor.a", 403),
                       ("admin.a", 403), ("qc_officer.a", 403), ("physician.a", 200)):
        r = c.get(f"/fhir/DiagnosticReport/{acc}", headers=login_cached(c, user))
        assert r.status_code == code, (user, r.text)
    assert c.get(f"/fhir/DiagnosticReport/{acc}").status_code == 401
    assert c.get("/fhir/DiagnosticReport/NOPE", headers=login_cached(c, "physician.a")).status_code == 404
