"""Ingest of DICOM instances (from C-STORE or STOW-RS) and their assembly into exams.

An instance is stored content-addressed (temporary file, fsync, rename: nothing partial under a
digest) and then recorded in one transaction; the same SOP instance twice is recorded once. A study
with no new instance for the quiet period becomes an exam through the ordinary intake, so duplicate
checks, routing, QC and analysis are the same as for an upload."""

from __future__ import annotations

import datetime as dt
import errno
import io
import logging
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pydicom
from pydicom.errors import InvalidDicomError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dualsign.accounts.models import Site
from dualsign.audit import service as audit
from dualsign.db import Database, utcnow
from dualsign.exams import service as exams
from dualsign.exams.store import FileStore
from dualsign.gateway import sop
from dualsign.gateway.models import DicomInstance, DicomStudy
from dualsign.patients import service as patients
from dualsign.worker import service as worker

log = logging.getLogger(__name__)

# DIMSE statuses (PS3.4 Annex B and PS3.7 Annex C).
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700
DATASET_DOES_NOT_MATCH_SOP_CLASS = 0xA900
SOP_CLASS_NOT_SUPPORTED = 0x0122
CANNOT_UNDERSTAND = 0xC000  # the dataset could not be parsed
MISSING_ATTRIBUTE = 0xC001  # parsed, but lacks an identity attribute dualsign needs
NO_MODALITY = 0xC002  # a Secondary Capture whose Modality names no modality dualsign reads
PROCESSING_FAILURE = 0x0110

REQUIRED = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "PatientID")


def gateway_actor(calling_ae: str, site_id: int | None, address: str | None) -> audit.Actor:
    """The gateway acts as the system on behalf of a sending AE; the AE title goes in the audit detail."""
    return audit.Actor(None, "dicom-gateway", None, site_id, address)


@dataclass(frozen=True)
class Outcome:
    status: int
    reason: str = ""
    sop_class_uid: str = ""
    sop_instance_uid: str = ""
    duplicate: bool = False

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


def _parse(data: bytes) -> pydicom.Dataset:
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=False)
    except InvalidDicomError:
        # Some senders (and C-STORE bodies) carry no preamble/meta; read the dataset itself.
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True, force=True)


def header_of(ds: pydicom.Dataset) -> dict[str, Any]:
    """Patient and study identity, as the exam intake needs them."""
    pn = ds.get("PatientName")
    name = ""
    if pn:
        name = str(getattr(pn, "ideographic", "") or "") or str(pn.alphabetic if hasattr(pn, "alphabetic") else pn)
        name = " ".join(p for p in name.replace("^", " ").split() if p)
    sex = str(ds.get("PatientSex", "") or "").upper()[:1]
    return {
        "patient_id": str(ds.PatientID).strip(),
        "patient_name": name,
        "patient_sex": sex if sex in {"F", "M", "O"} else "U",
        "patient_birth_date": str(ds.get("PatientBirthDate", "") or ""),
        "accession_number": str(ds.get("AccessionNumber", "") or ""),
        "study_date": str(ds.get("StudyDate", "") or ""),
        "study_description": str(ds.get("StudyDescription", "") or ""),
        "modality": str(ds.get("Modality", "") or ""),
    }


def ingest(db: Database, store: FileStore, data: bytes, *, site_id: int, calling_ae: str, via: str,
           negotiated_sop_class: str | None = None) -> Outcome:
    """Check, store and record one instance (a Part 10 file or a bare dataset with meta). Never raises
    for the sender's mistakes: the outcome carries the DIMSE status and why."""
    try:
        ds = _parse(data)
        missing = [k for k in REQUIRED if not str(ds.get(k, "") or "").strip()]
    except Exception as exc:  # pydicom raises many kinds on a broken stream
        return Outcome(CANNOT_UNDERSTAND, f"the dataset could not be parsed: {exc}")
    if missing:
        return Outcome(MISSING_ATTRIBUTE, f"the dataset lacks {', '.join(missing)}")
    sop_class_uid, sop_uid = str(ds.SOPClassUID), str(ds.SOPInstanceUID)
    ident: dict[str, Any] = {"sop_class_uid": sop_class_uid, "sop_instance_uid": sop_uid}
    if negotiated_sop_class and negotiated_sop_class != sop_class_uid:
        return Outcome(DATASET_DOES_NOT_MATCH_SOP_CLASS, f"dataset is {sop.name(sop_class_uid)}, sent as "
                       f"{sop.name(negotiated_sop_class)}", **ident)
    if sop_class_uid not in sop.ACCEPTED:
        return Outcome(SOP_CLASS_NOT_SUPPORTED, f"{sop.name(sop_class_uid)} is not an object dualsign reads",
                       **ident)
    modality = sop.modality_for(sop_class_uid, str(ds.get("Modality", "") or ""))
    if modality is None:
        return Outcome(NO_MODALITY, f"{sop.name(sop_class_uid)} with Modality {ds.get('Modality', '')!r} "
                       "is not a chest CT, fundus photograph or ECG", **ident)
    ts = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
    try:
        sha, size = store.put_bytes(data)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            log.error("store full: %s refused (%s)", sop_uid, exc)
            return Outcome(OUT_OF_RESOURCES, "out of storage space; nothing was stored", **ident)
        raise
    for attempt in range(3):
        try:
            with db.session() as session:
                duplicate = _record(session, ds, site_id=site_id, calling_ae=calling_ae, via=via,
                                    modality=modality.value, sha=sha, size=size, ts=ts)
            return Outcome(SUCCESS, "already stored" if duplicate else "", duplicate=duplicate, **ident)
        except IntegrityError:
            if attempt == 2:  # the same instance or the same study's batch raced us each time
                raise
    raise AssertionError("unreachable")


def _record(session: Session, ds: pydicom.Dataset, *, site_id: int, calling_ae: str, via: str, modality: str,
            sha: str, size: int, ts: str) -> bool:
    """Returns True when the instance was already stored (nothing changes)."""
    sop_uid = str(ds.SOPInstanceUID)
    if session.scalar(select(DicomInstance.id).where(DicomInstance.sop_instance_uid == sop_uid)) is not None:
        return True
    study_uid = str(ds.StudyInstanceUID)
    key = (DicomStudy.site_id == site_id, DicomStudy.study_instance_uid == study_uid, DicomStudy.modality == modality)
    study = session.scalar(select(DicomStudy).where(*key, DicomStudy.status == "open"))
    now = utcnow()
    if study is None:
        batch = (session.scalar(select(func.max(DicomStudy.batch)).where(*key)) or 0) + 1
        study = DicomStudy(site_id=site_id, study_instance_uid=study_uid, modality=modality, batch=batch,
                           calling_ae=calling_ae, header=header_of(ds), status="open",
                           first_received_at=now, last_received_at=now)
        session.add(study)
        session.flush()
    else:
        study.last_received_at = now
    session.add(DicomInstance(sop_instance_uid=sop_uid, sop_class_uid=str(ds.SOPClassUID),
                              series_instance_uid=str(ds.SeriesInstanceUID), transfer_syntax_uid=ts,
                              study_id=study.id, sha256=sha, size_bytes=size, received_via=via))
    session.flush()
    return False


def _birth_date(text: str) -> dt.date | None:
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if text else None
    except ValueError:
        return None


def due_studies(db: Database, quiet_seconds: float) -> list[int]:
    cutoff = utcnow() - dt.timedelta(seconds=quiet_seconds)
    with db.session() as session:
        return list(session.scalars(select(DicomStudy.id).where(DicomStudy.status == "open",
                                                                DicomStudy.last_received_at <= cutoff)
                                    .order_by(DicomStudy.id)))


def assemble(db: Database, store: FileStore, study_id: int, quiet_seconds: float) -> int | None:
    """Turn one quiet study into an exam (queued for analysis). Returns the exam id when one was created."""
    cutoff = utcnow() - dt.timedelta(seconds=quiet_seconds)
    try:
        with db.session() as session:
            study = session.scalar(select(DicomStudy).where(DicomStudy.id == study_id).with_for_update())
            if study is None or study.status != "open" or study.last_received_at > cutoff:
                return None  # taken by another assembler, or an instance just arrived
            site = session.get(Site, study.site_id)
            assert site is not None
            h = study.header
            actor = gateway_actor(study.calling_ae, site.id, None)
            instances = list(session.scalars(select(DicomInstance).where(DicomInstance.study_id == study.id)
                                             .order_by(DicomInstance.id)))
            patient = patients.find_or_create(
                session, actor, site_id=site.id, mrn=str(h["patient_id"]),
                name=str(h["patient_name"]) or "(no name in the DICOM header)", sex=str(h["patient_sex"]),
                birth_date=_birth_date(str(h["patient_birth_date"])), insurance_number=None)
            with ExitStack() as files:
                incoming = [exams.IncomingFile(f"{i.sop_instance_uid}.dcm",
                                               files.enter_context(store.path_for(i.sha256).open("rb")))
                            for i in instances]
                exam, created = exams.receive(session, store, files=incoming, modality=study.modality, site=site,
                                              patient=patient, actor=actor)
            if created:
                worker.queue_received(session, store, exam)
            study.status, study.exam_id = "exam", exam.id
            audit.record(session, actor, "upload", "exam", exam.id,
                         detail={"calling_ae": study.calling_ae, "study_instance_uid": study.study_instance_uid,
                                 "instances": len(instances), "duplicate": not created,
                                 "via": sorted({i.received_via for i in instances})})
            return exam.id if created else None
    except (exams.IntakeError, patients.PatientError) as exc:
        with db.session() as session:
            study = session.get(DicomStudy, study_id)
            assert study is not None
            study.status, study.error = "failed", str(exc)
            audit.record(session, gateway_actor(study.calling_ae, study.site_id, None), "upload", "exam", None,
                         outcome="failure", detail={"calling_ae": study.calling_ae, "why": str(exc),
                                                    "study_instance_uid": study.study_instance_uid})
        log.warning("study %s could not become an exam: %s", study_id, exc)
        return None


def site_for_ae(db: Database, peers: dict[str, str], calling_ae: str) -> Site | None:
    code = peers.get(calling_ae.strip())
    if code is None:
        return None
    with db.session() as session:
        site = session.scalar(select(Site).where(Site.code == code))
        if site is not None:
            session.expunge(site)
        return site
