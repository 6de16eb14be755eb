"""Results back to PACS: signed report versions become SRs in a persistent queue, sent by C-STORE.

Hook without touching the reports domain: poll() looks for report versions not yet considered
(OutboundCursor) that a physician signed (final, later superseded by an amendment, or an amendment) and
queues one message per destination serving the exam's site. The SR is built once and kept in the
file store, so retries (exponential backoff) and restarts resend the very same SOP instance."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from typing import Any

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image
from pydicom.uid import generate_uid
from pynetdicom import AE
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dualsign.accounts.models import Site, User
from dualsign.audit import service as audit
from dualsign.db import Database, utcnow
from dualsign.exams.models import Exam
from dualsign.exams.store import FileStore
from dualsign.gateway.models import DicomInstance, DicomStudy, OutboundCursor, OutboundMessage
from dualsign.gateway.settings import Destination, GatewaySettings
from dualsign.gateway.sr import build_sr
from dualsign.reports import service as reports
from dualsign.reports.models import Report, ReportStatus
from dualsign.review import service as review
from dualsign.signing.models import Signature

log = logging.getLogger(__name__)
SIGNED = (ReportStatus.FINAL, ReportStatus.SUPERSEDED)


def _evidence(session: Any, store: FileStore, exam_id: int) -> list[pydicom.Dataset]:
    ids = select(DicomStudy.id).where(DicomStudy.exam_id == exam_id)
    out: list[pydicom.Dataset] = []
    for inst in session.scalars(select(DicomInstance).where(DicomInstance.study_id.in_(ids))):
        out.append(pydicom.dcmread(store.path_for(inst.sha256), stop_before_pixels=True))
    return out


def _previous_sr(session: Any, store: FileStore, report: Report) -> list[pydicom.Dataset]:
    if report.based_on_id is None:
        return []
    # The earlier version's SR (not its key images): the message whose object is an SR.
    for sent in session.scalars(select(OutboundMessage).where(OutboundMessage.report_id == report.based_on_id)
                                .order_by(OutboundMessage.id)):
        ds = pydicom.dcmread(store.path_for(sent.sha256))
        if str(ds.Modality) == "SR":
            return [ds]
    return []


def sr_for(session: Any, store: FileStore, report: Report) -> pydicom.Dataset | str:
    """The SR of a report version, or why none can be built."""
    exam = session.get(Exam, report.exam_id)
    evidence = _evidence(session, store, report.exam_id)
    if not evidence:
        return "the exam did not come in over DICOM: there is no study in PACS to add the SR to"
    content = json.loads(report.content_json)
    first = session.scalar(select(Report).where(Report.exam_id == report.exam_id, Report.version == 1))
    structured = json.loads(first.content_json).get("structured", {}) if first else {}
    verified = report.created_by_id is not None
    physician = session.get(User, report.created_by_id) if verified else None
    site = session.get(Site, physician.site_id) if physician else None
    sig = session.scalar(select(Signature).where(Signature.report_id == report.id,
                                                 Signature.signer_kind == "physician"))
    locations = {f.id: dict(f.location or {}) for f in review.findings_of(session, report.exam_id)}
    return build_sr(evidence=evidence, content=content, modality=exam.modality, report_version=report.version,
                    verified=verified, analyzer=content.get("analyzer", {}),
                    global_measurements=list(structured.get("measurements", [])),
                    physician_name=_person_name(physician.full_name) if physician else None,
                    organisation=site.name[:64] if site else None,
                    signed_at=sig.signed_at if sig else None, previous=_previous_sr(session, store, report),
                    locations=locations)


def key_image_objects(session: Any, store: FileStore, report: Report, sr: pydicom.Dataset) -> list[pydicom.Dataset]:
    """The key images of the findings a signed version keeps, as Secondary Capture in the exam's study
    (patient and study taken from the SR, which carries them from the received instances)."""
    content = json.loads(report.content_json)
    images = reports.key_images(session, store, report.exam_id, content)
    if not images:
        return []
    series = generate_uid()
    out: list[pydicom.Dataset] = []
    for number, (name, png) in enumerate(images, start=1):
        rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        sc = hd.sc.SCImage.from_ref_dataset(
            ref_dataset=sr, pixel_array=rgb, photometric_interpretation="RGB", bits_allocated=8,
            # An axial slice as the scanner displays it: rows run to the patient's left, columns to posterior.
            coordinate_system="PATIENT", patient_orientation=("L", "P"),
            series_instance_uid=series, series_number=9000 + 2,
            sop_instance_uid=generate_uid(), instance_number=number, manufacturer="dualsign")
        sc.SeriesDescription = "dualsign key images, physician verified" if sr.VerificationFlag == "VERIFIED" \
            else "dualsign key images, AI preliminary"
        sc.ImageComments = f"{name}; report version {report.version}"[:10240]
        out.append(sc)
    return out


def _person_name(full_name: str) -> str:
    """'Given Family' -> 'Family^Given'; a one-word name gets the trailing caret DICOM asks for."""
    parts = full_name.split()
    return f"{parts[-1]}^{' '.join(parts[:-1])}" if len(parts) > 1 else f"{full_name}^"


def poll(db: Database, store: FileStore, settings: GatewaySettings) -> int:
    """Queue SRs of newly signed report versions; returns how many messages were queued. Idempotent."""
    statuses = [*SIGNED, ReportStatus.PRELIMINARY] if settings.send_preliminary else list(SIGNED)
    seen = select(OutboundCursor.report_id)
    with db.session() as session:
        ids = list(session.scalars(select(Report.id).where(Report.status.in_(statuses), Report.id.not_in(seen))
                                   .order_by(Report.id).limit(50)))
    queued = 0
    for report_id in ids:
        try:
            with db.session() as session:
                queued += _queue_one(session, store, settings, report_id)
        except IntegrityError:
            continue  # another poller took this version
    return queued


def _queue_one(session: Any, store: FileStore, settings: GatewaySettings, report_id: int) -> int:
    report = session.get(Report, report_id)
    exam = session.get(Exam, report.exam_id)
    site = session.get(Site, exam.site_id)
    dests = [d for d in settings.destinations if d.serves(site.code)]
    built = sr_for(session, store, report) if dests else "no destination serves this site"
    if isinstance(built, str):
        session.add(OutboundCursor(report_id=report_id, outcome=f"skipped: {built}"[:200]))
        session.flush()
        return 0
    try:
        extra = key_image_objects(session, store, report, built)
    except Exception:  # the verified SR must still go out; the images' failure is logged and audited
        log.exception("key images of report %s could not be built; sending the SR alone", report_id)
        extra = []
    objects = [built, *extra]
    session.add(OutboundCursor(report_id=report_id, outcome=f"queued {len(objects)} object(s) for "
                                                           f"{len(dests)} destination(s)"))
    for ds in objects:
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        sha, _ = store.put_bytes(buffer.getvalue())
        for d in dests:
            session.add(OutboundMessage(report_id=report_id, exam_id=exam.id, destination=d.key,
                                        sop_instance_uid=str(ds.SOPInstanceUID), sha256=sha))
    session.flush()
    audit.record(session, audit.SYSTEM, "export", "report", report_id,
                 detail={"exam": exam.accession, "format": "DICOM SR", "key_images": len(objects) - 1,
                         "destinations": [d.key for d in dests], "verified": str(built.VerificationFlag)})
    return len(dests) * len(objects)


def c_store(destination: Destination, calling_ae: str, ds: pydicom.Dataset) -> int:
    """Send one object; returns the DIMSE status (or raises ConnectionError when no association)."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate(destination.host, destination.port, ae_title=destination.ae_title)
    if not assoc.is_established:
        raise ConnectionError(f"no association with {destination.key}")
    try:
        status = assoc.send_c_store(ds)
        return int(status.Status) if status else 0xFFFF
    finally:
        assoc.release()


def send_due(db: Database, store: FileStore, settings: GatewaySettings) -> int:
    """Send every message whose time has come; failures back off exponentially. Returns how many went."""
    by_key = {d.key: d for d in settings.destinations}
    with db.session() as session:
        due = list(session.scalars(select(OutboundMessage.id).where(
            OutboundMessage.status == "pending", OutboundMessage.next_attempt_at <= utcnow())
            .order_by(OutboundMessage.id).limit(20)))
    sent = 0
    for msg_id in due:
        with db.session() as session:
            msg = session.get(OutboundMessage, msg_id)
            assert msg is not None
            dest, sha = by_key.get(msg.destination), msg.sha256
        error = None
        if dest is None:
            error = f"destination {msg.destination} is no longer configured"
        else:
            try:
                status = c_store(dest, settings.ae_title, pydicom.dcmread(store.path_for(sha)))
                if status not in (0x0000, 0xB000, 0xB007, 0xB006):
                    error = f"C-STORE status 0x{status:04X}"
            except Exception as exc:  # network, peer refusal: retried later
                error = f"{type(exc).__name__}: {exc}"
        with db.session() as session:
            msg = session.get(OutboundMessage, msg_id)
            assert msg is not None
            msg.attempts += 1
            if error is None:
                msg.status, msg.sent_at, msg.last_error = "sent", utcnow(), None
                sent += 1
            else:
                msg.last_error = error
                if msg.attempts >= settings.max_attempts:
                    msg.status = "failed"
                delay = settings.backoff_seconds * 2 ** (msg.attempts - 1)
                msg.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
                log.warning("sending report %s to %s failed (attempt %s): %s", msg.report_id, msg.destination,
                            msg.attempts, error)
    return sent
