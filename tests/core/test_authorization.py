"""Authorization matrix: every endpoint x every role x own site / other site, each asserted allowed or
refused. "Allowed" means the request got past role and site checks (it may still be refused by state,
e.g. 409 for signing with a wrong password); "refused" means 403 and nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dualsign.app import create_app
from dualsign.runtime import Runtime
from tests.core.client import login_cached as login
from tests.core.client import sample_files, upload, wait_for_status
from tests.core.network import build_network

ROLES = ["technologist", "physician", "qc_officer", "billing", "auditor", "admin"]

# endpoint name -> roles allowed on their own site's data. On another site's data every role is refused,
# except where the endpoint carries no site data (marked in SITELESS).
ALLOWED = {
    "me": set(ROLES),
    "upload": {"technologist", "physician"},
    "list_exams": {"technologist", "physician", "qc_officer"},
    "get_exam": {"technologist", "physician", "qc_officer"},
    "retry": {"technologist", "qc_officer"},
    "worklist": {"physician"},
    "findings": {"physician"},
    "decide": {"physician"},
    "add_finding": {"physician"},
    "reports": {"physician"},
    "sign": {"physician"},
    "amend": {"physician"},
    "retract": {"physician"},
    "verify": {"admin"},
    "claims": {"billing"},
    "claims_export": {"billing"},
    "audit_events": {"auditor"},
    "audit_export": {"auditor"},
    "audit_verify": {"auditor"},
    "ecg_view": {"physician"},
    "image": {"technologist", "physician", "qc_officer"},
    "fhir_report": {"technologist", "physician"},
    "fhir_report_search": {"technologist", "physician"},
    "fhir_observation": {"technologist", "physician"},
    "fhir_imaging_study": {"technologist", "physician"},
    "fhir_provenance": {"technologist", "physician"},
    "fhir_provenance_search": {"technologist", "physician"},
    "stow": {"technologist"},
    "report_pdf": {"physician"},
    "ct_volume": {"physician"},
    "ct_slice": {"physician"},
    "fundus_marks": {"physician"},
    "fundus_image": {"physician"},
}
# The route each name calls: the matrix must cover every route the application serves.
ROUTES = {
    "me": ("GET", "/api/me"), "upload": ("POST", "/api/exams"), "list_exams": ("GET", "/api/exams"),
    "get_exam": ("GET", "/api/exams/{exam_id}"), "retry": ("POST", "/api/exams/{exam_id}/retry"),
    "worklist": ("GET", "/api/worklist"), "findings": ("GET", "/api/exams/{exam_id}/findings"),
    "decide": ("POST", "/api/exams/{exam_id}/findings/{finding_id}/decision"),
    "add_finding": ("POST", "/api/exams/{exam_id}/findings"), "reports": ("GET", "/api/exams/{exam_id}/reports"),
    "sign": ("POST", "/api/exams/{exam_id}/sign"), "amend": ("POST", "/api/exams/{exam_id}/amend"),
    "retract": ("POST", "/api/exams/{exam_id}/retract"), "verify": ("GET", "/api/verify"),
    "claims": ("GET", "/api/claims"), "claims_export": ("GET", "/api/claims/export"),
    "audit_events": ("GET", "/api/audit/events"), "audit_export": ("GET", "/api/audit/export"),
    "audit_verify": ("GET", "/api/audit/verify"), "ecg_view": ("GET", "/api/exams/{exam_id}/ecg"),
    "image": ("GET", "/api/exams/{exam_id}/images/{name}"),
    "fhir_report": ("GET", "/fhir/DiagnosticReport/{resource_id}"),
    "fhir_report_search": ("GET", "/fhir/DiagnosticReport"),
    "fhir_observation": ("GET", "/fhir/Observation/{resource_id}"),
    "fhir_imaging_study": ("GET", "/fhir/ImagingStudy/{resource_id}"),
    "fhir_provenance": ("GET", "/fhir/Provenance/{resource_id}"),
    "fhir_provenance_search": ("GET", "/fhir/Provenance"),
    "stow": ("POST", "/dicomweb/studies"),
    "report_pdf": ("GET", "/api/exams/{exam_id}/reports/{version}/pdf"),
    "ct_volume": ("GET", "/api/exams/{exam_id}/ct"),
    "ct_slice": ("GET", "/api/exams/{exam_id}/ct/slices/{index}"),
    "fundus_marks": ("GET", "/api/exams/{exam_id}/fundus"),
    "fundus_image": ("GET", "/api/exams/{exam_id}/fundus/image"),
}
# Open by design: logging in, the liveness probe for hospital IT, and the workstation's static pages
# (their data comes through the API above).
PUBLIC = {("POST", "/api/auth/token"), ("GET", "/api/health"),
          ("GET", "/"), ("GET", "/app"), ("GET", "/app/{path:path}")}
# Endpoints whose data is always the caller's own site (nothing of another site can be addressed):
# for them "other site" means a user of the other county calling the same endpoint, with the same result.
SITELESS = {"me", "upload", "list_exams", "worklist", "claims", "verify", "audit_events", "audit_export",
            "audit_verify", "stow"}
# Searches answer only with the caller's own site's records: another site's user gets an empty result.
FILTERED = {"fhir_report_search"}


def call(client: TestClient, name: str, headers: dict[str, str], exam: dict[str, Any], finding_id: int,
         site_code: str) -> httpx.Response:
    exam_id, acc = exam["id"], exam["accession"]
    e = f"/api/exams/{exam_id}"
    wrong = {"password": "not-the-password", "impression": "x", "reason": "r"}
    match name:
        case "me":
            return client.get("/api/me", headers=headers)
        case "upload":
            return upload(client, headers, sample_files("HR06004"), mrn="AUTHZ")
        case "list_exams":
            return client.get("/api/exams", headers=headers)
        case "get_exam":
            return client.get(e, headers=headers)
        case "retry":
            return client.post(f"{e}/retry", headers=headers)
        case "worklist":
            return client.get("/api/worklist", headers=headers)
        case "findings":
            return client.get(f"{e}/findings", headers=headers)
        case "decide":
            return client.post(f"{e}/findings/{finding_id}/decision", headers=headers, json={"decision": "bogus"})
        case "add_finding":
            return client.post(f"{e}/findings", headers=headers, json={"kind": "statement", "label": " "})
        case "reports":
            return client.get(f"{e}/reports", headers=headers)
        case "sign":
            return client.post(f"{e}/sign", headers=headers, json=wrong)
        case "amend":
            return client.post(f"{e}/amend", headers=headers, json=wrong)
        case "retract":
            return client.post(f"{e}/retract", headers=headers, json=wrong)
        case "verify":
            return client.get("/api/verify", headers=headers)
        case "claims":
            return client.get("/api/claims", headers=headers)
        case "claims_export":
            return client.get("/api/claims/export", headers=headers, params={"site": site_code})
        case "audit_events":
            return client.get("/api/audit/events", headers=headers)
        case "audit_export":
            return client.get("/api/audit/export", headers=headers)
        case "audit_verify":
            return client.get("/api/audit/verify", headers=headers)
        case "ecg_view":
            return client.get(f"{e}/ecg", headers=headers)
        case "image":
            return client.get(f"{e}/images/none.png", headers=headers)
        case "fhir_report":
            return client.get(f"/fhir/DiagnosticReport/{acc}", headers=headers)
        case "fhir_report_search":
            return client.get("/fhir/DiagnosticReport", headers=headers,
                              params={"subject": f"Patient/{exam['patient']['id']}"})
        case "fhir_observation":
            return client.get(f"/fhir/Observation/{acc}-1", headers=headers)
        case "fhir_imaging_study":
            return client.get(f"/fhir/ImagingStudy/{acc}", headers=headers)
        case "fhir_provenance":
            return client.get(f"/fhir/Provenance/{acc}-v1", headers=headers)
        case "fhir_provenance_search":
            return client.get("/fhir/Provenance", headers=headers, params={"target": f"DiagnosticReport/{acc}"})
        case "ct_volume":
            return client.get(f"{e}/ct", headers=headers)
        case "ct_slice":
            return client.get(f"{e}/ct/slices/0", headers=headers)
        case "fundus_marks":
            return client.get(f"{e}/fundus", headers=headers)
        case "fundus_image":
            return client.get(f"{e}/fundus/image", headers=headers)
        case "report_pdf":
            return client.get(f"{e}/reports/1/pdf", headers=headers)
        case "stow":
            return client.post("/dicomweb/studies", headers={**headers, "Content-Type": "application/dicom"},
                               content=b"not a DICOM file")
    raise AssertionError(name)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def test_every_endpoint_role_and_site(client: TestClient) -> None:
    tech = login(client, "technologist.a")
    exam_id = upload(client, tech, sample_files("E07509"), mrn="MATRIX").json()["id"]
    assert wait_for_status(client, tech, exam_id, {"preliminary", "qc_failed"})["status"] == "preliminary"
    doc = login(client, "physician.a")
    finding_id = client.get(f"/api/exams/{exam_id}/findings", headers=doc).json()["items"][0]["id"]
    exam = client.get(f"/api/exams/{exam_id}", headers=doc).json()
    status_before = exam["status"]

    # The exam and the billing site belong to county A; users '<role>.a' are own-site, '<role>.b' other-site.
    assert set(ALLOWED) == set(ROUTES)
    mismatches = []
    for name, allowed_roles in ALLOWED.items():
        for role in ROLES:
            for suffix in ("a", "b"):
                headers = login(client, f"{role}.{suffix}")
                own_site = suffix == "a" or name in SITELESS
                r = call(client, name, headers, exam, finding_id, "A")
                expect_allowed = role in allowed_roles and own_site
                got_allowed = r.status_code not in (401, 403)
                if name in FILTERED and got_allowed and role in allowed_roles and not own_site:
                    # Past the role check, but the other site's records must not be in the answer.
                    got_allowed = r.json().get("total", len(r.json().get("entry", []))) > 0
                if expect_allowed != got_allowed or r.status_code >= 500:
                    mismatches.append(f"{name} as {role}.{suffix}: HTTP {r.status_code} {r.text[:120]}")
    assert not mismatches, "\n".join(mismatches)

    # Nothing the refused or wrong-password calls did changed the exam.
    assert client.get(f"/api/exams/{exam_id}", headers=doc).json()["status"] in {status_before, "in_review"}
    assert all(f["review_state"] == "proposed"
               for f in client.get(f"/api/exams/{exam_id}/findings", headers=doc).json()["items"])


def test_the_matrix_covers_every_route(client: TestClient) -> None:
    # Every operation the OpenAPI document publishes (what hospital IT integrates against).
    paths = client.get("/openapi.json").json()["paths"]
    served = {(method.upper(), path) for path, ops in paths.items() for method in ops}
    assert served - PUBLIC - set(ROUTES.values()) == set(), "routes missing from the authorization matrix"
    assert set(ROUTES.values()) - served == set(), "the matrix names routes the application does not serve"


def test_unauthenticated_and_forged_tokens_are_refused(client: TestClient) -> None:
    for path in ("/api/me", "/api/worklist", "/api/claims", "/api/audit/events"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer not.a.token"}).status_code == 401
    r = client.post("/api/auth/token", data={"username": "physician.a", "password": "wrong-password"})
    assert r.status_code == 401
