"""DICOM SR (TID 1500 Measurement Report, highdicom) of one report version.

A physician-signed version is VERIFIED, COMPLETE and FINAL with the signing physician as the
Verifying Observer (their site as organisation); an AI preliminary is UNVERIFIED and PRELIMINARY.
ECG statements go in as SNOMED-coded findings, measurements with UCUM units."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from dualsign import __version__

LOCAL = "99DUALSIGN"  # private coding scheme for measurements no standard code names here
PROCEDURES = {
    "ecg": CodedConcept("29303009", "SCT", "Electrocardiographic procedure"),
    "chest_ct": CodedConcept("169069000", "SCT", "Computed tomography of chest"),
    "fundus": CodedConcept("fundus-photography", LOCAL, "Fundus photography"),
}
# LOINC names for the standard 12-lead measurements.
LOINC = {
    "heart rate": ("8867-4", "Heart rate"), "pr": ("8625-6", "P-R interval"),
    "qrs": ("8633-0", "QRS duration"), "qt": ("8634-8", "Q-T interval"),
    "qtc (bazett)": ("8636-3", "Q-T interval corrected"), "p axis": ("8626-4", "P wave axis"),
    "qrs axis": ("8632-2", "QRS axis"), "t axis": ("8638-9", "T wave axis"),
}
UCUM = {"/min": "/min", "ms": "ms", "°": "deg", "deg": "deg", "mv": "mV", "mm": "mm", "mv_ms": "mV.ms",
        "bpm": "/min", "s": "s", "%": "%", "ml": "mL", "hu": "[hnsf'U]", "mm3": "mm3"}
_SUFFIX = re.compile(r"_(bpm|ms|mv_ms|mv|deg|mm3|mm|s|ml|hu)$")


def _unit(unit: str) -> CodedConcept:
    u = UCUM.get(unit.lower(), unit or "1")
    return CodedConcept(u, "UCUM", u)


def _code(code: str | None, label: str) -> CodedConcept | None:
    """'SCT:426177001' -> a coded concept."""
    if not code or ":" not in code:
        return None
    scheme, value = code.split(":", 1)
    return CodedConcept(value, {"SCT": "SCT", "SNOMED": "SCT", "LOINC": "LN", "LN": "LN"}.get(scheme, scheme),
                        label[:64])


def _measurement(name: str, value: Any, unit: str) -> hd.sr.Measurement | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    std = LOINC.get(name.lower())
    concept = CodedConcept(std[0], "LN", std[1]) if std else CodedConcept(name[:16], LOCAL, name[:64])
    return hd.sr.Measurement(name=concept, value=float(value), unit=_unit(unit))


def finding_measurements(values: dict[str, Any]) -> list[hd.sr.Measurement]:
    """A finding's numeric measurements; the unit is read from the key's suffix (qrs_ms, hr_bpm)."""
    out = []
    for key, value in sorted(values.items()):
        m = _SUFFIX.search(key)
        if m and (item := _measurement(key, value, m.group(1))) is not None:
            out.append(item)
    return out


MeasurementGroup = hd.sr.MeasurementsAndQualitativeEvaluations | hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations
NODULE = CodedConcept("27925004", "SCT", "Nodule")
MASS = CodedConcept("4147007", "SCT", "Mass")


def nodule_region(location: dict[str, Any], measurements: dict[str, Any], frame_of_reference_uid: str
                  ) -> hd.sr.ImageRegion3D | None:
    """The nodule as an axial ellipse in patient coordinates (LPS mm): long axis along x, short along y, so a
    PACS viewer draws it where the analyzer measured it."""
    centre = location.get("center_mm")
    long_mm, short_mm = measurements.get("long_axis_mm"), measurements.get("short_axis_mm")
    if not (isinstance(centre, list) and len(centre) == 3 and isinstance(long_mm, int | float)):
        return None
    x, y, z = (float(v) for v in centre)
    a, b = float(long_mm) / 2, float(short_mm if isinstance(short_mm, int | float) else long_mm) / 2
    points = np.array([[x - a, y, z], [x + a, y, z], [x, y - b, z], [x, y + b, z]])
    return hd.sr.ImageRegion3D(graphic_type=hd.sr.GraphicTypeValues3D.ELLIPSE, graphic_data=points,
                               frame_of_reference_uid=frame_of_reference_uid)


def build_sr(*, evidence: Sequence[pydicom.Dataset], content: dict[str, Any], modality: str,
             report_version: int, verified: bool, analyzer: dict[str, Any],
             global_measurements: Sequence[dict[str, Any]] = (), physician_name: str | None = None,
             organisation: str | None = None, signed_at: dt.datetime | None = None,
             previous: Sequence[pydicom.Dataset] = (),
             locations: dict[int, dict[str, Any]] | None = None) -> pydicom.Dataset:
    """locations: finding id -> the finding's location (image coordinates are not part of the signed text)."""
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(entropy_srcs=[str(analyzer.get("name")), str(analyzer.get("model_version"))]),
            name=str(analyzer.get("name", "analyzer"))[:64], model_name=str(analyzer.get("model_version", ""))[:64]))
    person = None
    if verified and physician_name:
        person = hd.sr.ObserverContext(
            observer_type=codes.DCM.Person,
            observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=physician_name, organization_name=organisation))
    context = hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)
    algorithm = hd.sr.AlgorithmIdentification(name=str(analyzer.get("name", "analyzer"))[:64],
                                              version=str(analyzer.get("model_version", "unknown"))[:64])
    groups: list[MeasurementGroup] = []
    if global_measurements:
        items = [m for g in global_measurements if (m := _measurement(str(g["name"]), g.get("value"),
                                                                      str(g.get("unit", ""))))]
        if items:
            groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="measurements"),
                algorithm_id=algorithm, measurements=items))
    frame_of_reference = next((str(ds.FrameOfReferenceUID) for ds in evidence if "FrameOfReferenceUID" in ds), None)
    for f in content.get("findings", []):
        measured = dict(f.get("measurements") or {})
        region = None
        if frame_of_reference and f.get("kind") in ("nodule", "mass"):
            region = nodule_region(dict((locations or {}).get(int(f.get("finding_id") or 0), {})), measured,
                                   frame_of_reference)
        if region is not None:
            groups.append(hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(),
                                                             identifier=f"finding {f.get('finding_id')}"),
                referenced_region=region, finding_type=MASS if f.get("kind") == "mass" else NODULE,
                algorithm_id=algorithm, measurements=finding_measurements(measured) or None,
                qualitative_evaluations=[hd.sr.QualitativeEvaluation(
                    name=codes.DCM.Finding, value=CodedConcept(f"f{f.get('finding_id')}", LOCAL,
                                                               str(f.get("label", "nodule"))[:64]))]))
            continue
        concept = _code(f.get("code"), str(f.get("label", "")))
        # A finding without a code is still reported: its label as a local concept.
        evaluations = [] if concept else [hd.sr.QualitativeEvaluation(
            name=codes.DCM.Finding, value=CodedConcept(f"f{f.get('finding_id')}", LOCAL,
                                                       str(f.get("label", "finding"))[:64]))]
        groups.append(hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(),
                                                         identifier=f"finding {f.get('finding_id')}"),
            finding_type=concept, algorithm_id=algorithm,
            measurements=finding_measurements(dict(f.get("measurements") or {})) or None,
            qualitative_evaluations=evaluations or None))
    report = hd.sr.MeasurementReport(observation_context=context, procedure_reported=PROCEDURES[modality],
                                     imaging_measurements=groups or None)
    impression = content.get("impression") or content.get("summary")
    if impression:
        # TID 1500's Qualitative Evaluations container holds the physician's free-text impression.
        notes = hd.sr.ContainerContentItem(name=CodedConcept("C0034375", "UMLS", "Qualitative Evaluations"),
                                           relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
        text = hd.sr.TextContentItem(name=CodedConcept("121073", "DCM", "Impression"), value=str(impression)[:1000],
                                     relationship_type=hd.sr.RelationshipTypeValues.CONTAINS)
        notes.ContentSequence = pydicom.Sequence([text])
        report[0].ContentSequence.append(notes)
    sr = hd.sr.Comprehensive3DSR(
        evidence=list(evidence), content=report[0], series_instance_uid=generate_uid(), series_number=9000 + 1,
        sop_instance_uid=generate_uid(), instance_number=report_version, manufacturer="dualsign",
        is_complete=verified, is_final=verified, is_verified=verified,
        institution_name=organisation, verifying_observer_name=physician_name if verified else None,
        verifying_organization=organisation if verified else None, previous_versions=list(previous) or None)
    sr.SoftwareVersions = __version__
    sr.SeriesDescription = "dualsign AI report, physician verified" if verified else "dualsign AI preliminary"
    if verified and signed_at is not None:
        sr.VerifyingObserverSequence[0].VerificationDateTime = signed_at.strftime("%Y%m%d%H%M%S")
    return sr
