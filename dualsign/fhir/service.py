"""Build FHIR R4 resources from an exam's report versions; every resource is validated against the
R4B models before it leaves. Nothing is stored: the report versions are the source of truth.

DiagnosticReport/{accession} follows the current version: preliminary (AI only) -> final ->
amended -> entered-in-error (retracted). One Provenance per version carries its signatures (the AI's,
and the physician's on signed versions) with algorithm, format and the signature itself."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.imagingstudy import ImagingStudy
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.provenance import Provenance
from sqlalchemy import select
from sqlalchemy.orm import Session

from dualsign.accounts.models import Site, User
from dualsign.exams.models import Exam
from dualsign.gateway.models import DicomInstance, DicomStudy
from dualsign.gateway.sr import _SUFFIX, UCUM
from dualsign.patients.models import Patient
from dualsign.reports import service as reports
from dualsign.reports.models import Report, ReportStatus
from dualsign.signing.models import Signature

BASE = "urn:dualsign"
EXT_ALGORITHM, EXT_PUBLIC_KEY, EXT_PAYLOAD = (f"{BASE}:signature-{n}" for n in ("algorithm", "public-key",
                                                                               "payload-sha256"))
SCT, LOINC, UCUM_SYSTEM = "http://snomed.info/sct", "http://loinc.org", "http://unitsofmeasure.org"
SECTION = "http://terminology.hl7.org/CodeSystem/v2-0074"
SIG_TYPE = "urn:iso-astm:E1762-95:2013"
PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
IMAGE_MODALITIES = {"chest_ct": "CT", "fundus": "OP"}
REPORT_CODE = {"ecg": (LOINC, "11524-6", "EKG study"), "chest_ct": (LOINC, "24627-2", "CT Chest")}
SECTION_CODE = {"ecg": "EC", "chest_ct": "CT"}


def _instant(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _coding(code: str | None, label: str) -> dict[str, Any] | None:
    if not code or ":" not in code:
        return None
    scheme, value = code.split(":", 1)
    system = {"SCT": SCT, "SNOMED": SCT, "LOINC": LOINC, "LN": LOINC}.get(scheme, f"{BASE}:code:{scheme}")
    return {"system": system, "code": value, "display": label}


def fhir_status(session: Session, exam: Exam) -> tuple[str, Report | None]:
    current = reports.current_report(session, exam.id)
    if current is None:
        return "registered", None
    if current.status == ReportStatus.RETRACTED:
        return "entered-in-error", current
    if current.status == ReportStatus.PRELIMINARY:
        return "preliminary", current
    kind = json.loads(current.content_json).get("kind")
    return ("amended" if kind == "amendment" else "final"), current


def _findings(session: Session, exam: Exam) -> list[dict[str, Any]]:
    """Findings of the latest version that lists any (a retraction lists none: its predecessor's)."""
    for report in reversed(reports.versions(session, exam.id)):
        content = json.loads(report.content_json)
        if "findings" in content:
            return list(content["findings"])
    return []


def _subject(session: Session, exam: Exam) -> dict[str, Any]:
    patient = session.get(Patient, exam.patient_id)
    site = session.get(Site, exam.site_id)
    assert patient is not None and site is not None
    return {"reference": f"Patient/{patient.id}", "display": patient.name,
            "identifier": {"system": f"{BASE}:site:{site.code}:mrn", "value": patient.medical_record_number}}


def _quantity(key: str, value: Any) -> dict[str, Any] | None:
    m = _SUFFIX.search(key)
    if not m or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    unit = UCUM.get(m.group(1), m.group(1))
    return {"value": float(value), "unit": unit, "system": UCUM_SYSTEM, "code": unit}


def observations(session: Session, exam: Exam) -> list[dict[str, Any]]:
    """One Observation per finding with at least one measurement."""
    status, _ = fhir_status(session, exam)
    obs_status = {"registered": "registered", "preliminary": "preliminary", "final": "final",
                  "amended": "amended", "entered-in-error": "entered-in-error"}[status]
    out = []
    for f in _findings(session, exam):
        components = []
        for key, value in sorted(dict(f.get("measurements") or {}).items()):
            if (q := _quantity(key, value)) is not None:
                components.append({"code": {"coding": [{"system": f"{BASE}:measurement", "code": key}],
                                            "text": key}, "valueQuantity": q})
        if not components:
            continue
        coding = _coding(f.get("code"), str(f.get("label", "")))
        resource = {
            "resourceType": "Observation", "id": f"{exam.accession}-f{f['finding_id']}", "status": obs_status,
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": "procedure"}]}],
            "code": {**({"coding": [coding]} if coding else {}), "text": str(f.get("label", ""))},
            "subject": _subject(session, exam), "effectiveDateTime": _instant(exam.received_at),
            "component": components,
        }
        Observation.model_validate(resource)
        out.append(resource)
    return out


def imaging_study(session: Session, exam: Exam) -> dict[str, Any] | None:
    modality = IMAGE_MODALITIES.get(exam.modality)
    if modality is None:
        return None
    studies = list(session.scalars(select(DicomStudy).where(DicomStudy.exam_id == exam.id)))
    instances = list(session.scalars(select(DicomInstance).where(
        DicomInstance.study_id.in_([s.id for s in studies])))) if studies else []
    series: dict[str, list[DicomInstance]] = {}
    for inst in instances:
        series.setdefault(inst.series_instance_uid, []).append(inst)
    resource: dict[str, Any] = {
        "resourceType": "ImagingStudy", "id": exam.accession, "status": "available",
        "identifier": [{"system": f"{BASE}:accession", "value": exam.accession}],
        "modality": [{"system": DCM, "code": modality}], "subject": _subject(session, exam),
        "started": _instant(exam.received_at), "numberOfSeries": len(series),
        "numberOfInstances": len(instances) or len(exam.files),
    }
    if studies:
        resource["identifier"].append({"system": "urn:dicom:uid", "value": f"urn:oid:{studies[0].study_instance_uid}"})
    if series:
        resource["series"] = [
            {"uid": uid, "modality": {"system": DCM, "code": modality}, "numberOfInstances": len(items),
             "instance": [{"uid": i.sop_instance_uid, "sopClass": {"system": "urn:ietf:rfc:3986",
                                                                    "code": f"urn:oid:{i.sop_class_uid}"}}
                          for i in items]}
            for uid, items in series.items()]
    ImagingStudy.model_validate(resource)
    return resource


def diagnostic_report(session: Session, exam: Exam) -> dict[str, Any]:
    status, current = fhir_status(session, exam)
    system, code, display = REPORT_CODE.get(exam.modality, (f"{BASE}:modality", exam.modality, exam.modality))
    resource: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": exam.accession,
        "identifier": [{"system": f"{BASE}:accession", "value": exam.accession}],
        "status": status,
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": _subject(session, exam), "effectiveDateTime": _instant(exam.received_at),
    }
    if exam.modality in SECTION_CODE:
        resource["category"] = [{"coding": [{"system": SECTION, "code": SECTION_CODE[exam.modality]}]}]
    if current is not None:
        content = json.loads(current.content_json)
        resource["meta"] = {"versionId": str(current.version), "lastUpdated": _instant(current.created_at)}
        resource["issued"] = _instant(current.created_at)
        if status == "preliminary":
            resource["conclusion"] = f"{content.get('summary', '')} ({content['disclaimer']['en']})".strip()
        elif status == "entered-in-error":
            resource["conclusion"] = f"Retracted: {content.get('reason', '')}"
        else:
            resource["conclusion"] = content.get("impression") or ""
        if current.created_by_id is not None:
            user = session.get(User, current.created_by_id)
            assert user is not None
            resource["resultsInterpreter"] = [{"display": user.full_name, "identifier": {
                "system": f"{BASE}:licence", "value": user.licence_number or user.username}}]
        codes = [c for f in _findings(session, exam) if (c := _coding(f.get("code"), str(f.get("label", ""))))]
        if codes:
            resource["conclusionCode"] = [{"coding": [c], "text": c["display"]} for c in codes]
        obs = observations(session, exam)
        if obs:
            resource["result"] = [{"reference": f"Observation/{o['id']}"} for o in obs]
    if imaging_study(session, exam) is not None:
        resource["imagingStudy"] = [{"reference": f"ImagingStudy/{exam.accession}"}]
    DiagnosticReport.model_validate(resource)
    return resource


def _signature(sig: Signature, target_sig_type: tuple[str, str]) -> dict[str, Any]:
    who = ({"display": sig.signer_name, "identifier": {"system": f"{BASE}:licence", "value": sig.licence_number}}
           if sig.signer_kind == "physician" and sig.licence_number else {"display": sig.signer_name})
    return {
        "type": [{"system": SIG_TYPE, "code": target_sig_type[0], "display": target_sig_type[1]}],
        "when": _instant(sig.signed_at), "who": who,
        "targetFormat": "application/json", "sigFormat": "application/octet-stream",
        "data": base64.b64encode(bytes.fromhex(sig.signature)).decode(),
        "extension": [{"url": EXT_ALGORITHM, "valueString": sig.algorithm},
                      {"url": EXT_PUBLIC_KEY, "valueString": sig.public_key},
                      {"url": EXT_PAYLOAD, "valueString": sig.payload_sha256}],
    }


AUTHOR = ("1.2.840.10065.1.12.1.1", "Author's Signature")
VERIFIER = ("1.2.840.10065.1.12.1.5", "Verification Signature")


def provenance(session: Session, exam: Exam, report: Report) -> dict[str, Any]:
    """The signatures of one version: the AI's (on the preliminary it builds on) and the physician's."""
    first = session.scalar(select(Report).where(Report.exam_id == exam.id, Report.version == 1))
    ai = session.scalar(select(Signature).where(Signature.report_id == (first.id if first else report.id),
                                                Signature.signer_kind == "ai"))
    doc = session.scalar(select(Signature).where(Signature.report_id == report.id,
                                                 Signature.signer_kind == "physician"))
    agents, signatures = [], []
    if ai is not None:
        agents.append({"type": {"coding": [{"system": PARTICIPANT, "code": "author"}]},
                       "who": {"display": f"AI analyzer {ai.signer_name}"}})
        signatures.append(_signature(ai, AUTHOR))
    if doc is not None:
        agents.append({"type": {"coding": [{"system": PARTICIPANT, "code": "verifier"}]},
                       "who": _signature(doc, VERIFIER)["who"]})
        signatures.append(_signature(doc, VERIFIER))
    resource = {
        "resourceType": "Provenance", "id": f"{exam.accession}-v{report.version}",
        "target": [{"reference": f"DiagnosticReport/{exam.accession}/_history/{report.version}"}],
        "recorded": _instant(doc.signed_at if doc else ai.signed_at if ai else report.created_at),
        "agent": agents, "signature": signatures,
    }
    if report.reason:
        resource["reason"] = [{"text": report.reason}]
    Provenance.model_validate(resource)
    return resource


def provenances(session: Session, exam: Exam) -> list[dict[str, Any]]:
    return [provenance(session, exam, r) for r in reports.versions(session, exam.id)]


def bundle(entries: list[dict[str, Any]], base_url: str) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    resource = {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                "entry": [{"fullUrl": f"{base_url}/{e['resourceType']}/{e['id']}", "resource": e,
                           "search": {"mode": "match"}} for e in entries]}
    Bundle.model_validate(resource)
    return resource
