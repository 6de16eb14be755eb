"""dcmtk's storescu against dualsign's SCP: an ECG wrapped as DICOM becomes an exam and is analysed;
CT (plain and RLE-compressed) is stored and becomes a chest CT exam; bad input gets the right status."""

from __future__ import annotations

import errno
import subprocess
import threading
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid
from pynetdicom import AE
from sqlalchemy import func, select

from dualsign.analyzers.fundus.read import OPHTHALMIC_8BIT
from dualsign.analyzers.models import AnalysisRun
from dualsign.audit.models import AuditEvent
from dualsign.exams.models import Exam
from dualsign.gateway import service
from dualsign.gateway.models import DicomInstance, DicomStudy
from dualsign.runtime import Runtime
from tests.analyzers.fundus.fundus_samples import load_rgb, write_photo_dicom
from tests.conftest import DEMO_SAMPLES
from tests.core.client import login_cached, wait_for_status
from tests.gateway.conftest import Gateway
from tests.gateway.samples import CT_SMALL, MR_SMALL, dcmtk, ecg_dicom


def storescu(gw: Gateway, *files: Path, aet: str = "MODALITY_A", options: tuple[str, ...] = ()
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dcmtk("storescu"), *options, "-aet", aet, "-aec", "DUALSIGN", "127.0.0.1", str(gw.port),
                           *map(str, files)], capture_output=True, text=True, timeout=60)


def wait_exam(rt: Runtime, study_uid: str, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with rt.db.session() as s:
            exam_id = s.scalar(select(DicomStudy.exam_id).where(DicomStudy.study_instance_uid == study_uid))
        if exam_id:
            return int(exam_id)
        time.sleep(0.1)
    raise AssertionError(f"study {study_uid} never became an exam")


def test_ecg_over_dicom_is_analysed_and_stored_once(gateway: Gateway, runtime: Runtime, tmp_path: Path) -> None:
    path = ecg_dicom(tmp_path / "ecg.dcm")
    study = str(pydicom.dcmread(path).StudyInstanceUID)
    r = storescu(gateway, path)
    assert r.returncode == 0, r.stderr
    exam_id = wait_exam(runtime, study)
    tech = login_cached(gateway.client, "technologist.a")
    exam = wait_for_status(gateway.client, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"})
    assert exam["status"] == "preliminary", exam
    assert exam["modality"] == "ecg" and exam["site"] == "A"
    assert exam["patient"]["medical_record_number"] == "MRN-ECG-1" and exam["patient"]["sex"] == "M"
    assert exam["patient"]["birth_date"] == "1955-11-20"
    with runtime.db.session() as s:
        upload = s.scalars(select(AuditEvent).where(AuditEvent.action == "upload")).one()
        assert upload.actor == "dicom-gateway" and upload.detail["calling_ae"] == "MODALITY_A"
    # The same instance again: success for the sender, stored once, no second exam.
    r = storescu(gateway, path)
    assert r.returncode == 0, r.stderr
    time.sleep(1.0)
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomInstance)) == 1
        assert s.scalar(select(func.count()).select_from(Exam)) == 1


def test_ct_plain_and_compressed_become_one_chest_ct_exam(gateway: Gateway, runtime: Runtime, tmp_path: Path) -> None:
    study = generate_uid()
    files = []
    for i in range(2):
        ds = pydicom.dcmread(CT_SMALL)
        ds.StudyInstanceUID, ds.PatientID, ds.PatientName = study, "MRN-CT-1", "Wang^Jianguo"
        if i:  # the second slice RLE-compressed: stored as sent, not transcoded
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
            ds.compress(RLELossless)
        files.append(tmp_path / f"ct{i}.dcm")
        ds.save_as(files[-1])
    for f, options in zip(files, [(), ("--propose-rle",)], strict=True):  # RLE proposed and sent as it is
        r = storescu(gateway, f, aet="MODALITY_B", options=options)
        assert r.returncode == 0, r.stderr
    exam_id = wait_exam(runtime, study)
    tech = login_cached(gateway.client, "technologist.b")
    done = wait_for_status(gateway.client, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"})
    with runtime.db.session() as s:
        exam = s.get(Exam, exam_id)
        assert exam is not None and exam.modality == "chest_ct" and len(exam.files) == 2
        # Both instances are the same slice position: one slice is no chest CT series, and the technologist
        # is told so (the exam is kept).
        assert done["status"] == "qc_failed", done
        assert any("slice" in reason for reason in done["qc_reasons"]), done["qc_reasons"]
        syntaxes = set(s.scalars(select(DicomInstance.transfer_syntax_uid)))
    assert syntaxes == {ExplicitVRLittleEndian, RLELossless}


def test_unknown_calling_ae_is_rejected(gateway: Gateway, runtime: Runtime) -> None:
    r = storescu(gateway, CT_SMALL, aet="STRANGER")
    assert r.returncode != 0 and "Rejected" in r.stderr + r.stdout
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomInstance)) == 0
        denied = s.scalars(select(AuditEvent).where(AuditEvent.outcome == "denied")).one()
        assert denied.detail["calling_ae"] == "STRANGER"


def test_unsupported_sop_class_is_not_negotiated(gateway: Gateway, runtime: Runtime) -> None:
    ae = AE(ae_title="MODALITY_A")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4")  # MR Image Storage
    ae.add_requested_context("1.2.840.10008.1.1")  # Verification, so that the association itself opens
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title="DUALSIGN")
    assert assoc.is_established
    try:
        assert [c.abstract_syntax for c in assoc.accepted_contexts] == ["1.2.840.10008.1.1"]
        assert int(assoc.send_c_echo().Status) == 0
        with pytest.raises(ValueError, match="presentation context"):
            assoc.send_c_store(pydicom.dcmread(MR_SMALL))
    finally:
        assoc.release()
    # STOW-RS (no negotiation) answers the DIMSE status itself.
    data = MR_SMALL.read_bytes()
    assert service.ingest(runtime.db, runtime.store, data, site_id=1, calling_ae="X", via="test").status == 0x0122


def _send(gateway: Gateway, ds: pydicom.Dataset) -> int:
    ae = AE(ae_title="MODALITY_A")
    ae.add_requested_context(ds.SOPClassUID)
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title="DUALSIGN")
    assert assoc.is_established
    try:
        return int(assoc.send_c_store(ds).Status)
    finally:
        assoc.release()


def test_malformed_and_full_disk_are_refused_with_nothing_stored(gateway: Gateway, runtime: Runtime,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ds = pydicom.dcmread(CT_SMALL)
    del ds.PatientID
    assert _send(gateway, ds) == 0xC001
    # Bytes that are not a dataset at all, and a dataset claiming another SOP class than negotiated.
    assert service.ingest(runtime.db, runtime.store, b"\x08\x00" + b"\xff" * 40,
                          site_id=1, calling_ae="X", via="test").status >= 0xC000
    mismatch = service.ingest(runtime.db, runtime.store, CT_SMALL.read_bytes(), site_id=1, calling_ae="X", via="test",
                              negotiated_sop_class="1.2.840.10008.5.1.4.1.1.7")
    assert mismatch.status == 0xA900

    def full(_: bytes) -> tuple[str, int]:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runtime.store, "put_bytes", full)
    assert _send(gateway, pydicom.dcmread(CT_SMALL)) == 0xA700
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomInstance)) == 0
    assert not list(Path(runtime.store.root).rglob(".incoming-*"))


def test_association_aborted_mid_transfer_keeps_only_complete_instances(gateway: Gateway, runtime: Runtime) -> None:
    complete = pydicom.dcmread(CT_SMALL)
    big = pydicom.dcmread(CT_SMALL)
    big.SOPInstanceUID = generate_uid()
    big.Rows = big.Columns = 2048  # 8 MB of pixel data: hundreds of PDUs
    big.PixelData = bytes(2048 * 2048 * 2)
    ae = AE(ae_title="MODALITY_A")
    ae.add_requested_context(complete.SOPClassUID, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title="DUALSIGN")
    assert assoc.is_established
    assert int(assoc.send_c_store(complete).Status) == 0
    # The sending modality is on a slow link (this side of the test only): every 16 kB takes 5 ms to
    # leave. Half-way through the second instance it gives up and sends an A-ABORT PDU (PS3.8 9.3.8:
    # type 07H, length 4, source 0 = service user) in place of the rest, then drops the connection.
    link = assoc.dul.socket
    assert link is not None and link.socket is not None
    raw, fast_send = link.socket, link.send
    give_up = threading.Event()
    a_abort = bytes([0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00])

    def slow_send(bytestream: bytes) -> None:  # the signature of the method it replaces
        for start in range(0, len(bytestream), 16384):
            if give_up.is_set():
                raw.sendall(a_abort)
                raw.close()
                raise ConnectionAbortedError("the modality aborted the association")
            time.sleep(0.005)
            fast_send(bytestream[start:start + 16384])

    link.send = slow_send  # type: ignore[method-assign]
    sender = threading.Thread(target=lambda: assoc.send_c_store(big), daemon=True)
    sender.start()
    time.sleep(0.5)
    assert sender.is_alive(), "the transfer ended before it could be aborted"
    give_up.set()
    time.sleep(1.0)  # give the SCP time to notice the abort (the sender's own thread is left to time out)
    with runtime.db.session() as s:
        stored = set(s.scalars(select(DicomInstance.sop_instance_uid)))
    assert stored == {str(complete.SOPInstanceUID)}
    assert not list(Path(runtime.store.root).rglob(".incoming-*"))
    # The SCP goes on serving the next association.
    again = pydicom.dcmread(CT_SMALL)
    again.SOPInstanceUID = generate_uid()
    assert _send(gateway, again) == 0


def test_fundus_photo_over_dicom_is_analysed_with_its_laterality(gateway: Gateway, runtime: Runtime,
                                                                  tmp_path: Path) -> None:
    """A real fundus photograph wrapped as Ophthalmic Photography 8-bit, sent by dcmtk's storescu."""
    path = tmp_path / "op.dcm"
    rgb = load_rgb(DEMO_SAMPLES / "fundus" / "idrid_46.jpg")
    write_photo_dicom(path, rgb, OPHTHALMIC_8BIT, "ImageLaterality", "L")
    ds = pydicom.dcmread(path)
    ds.PatientID, ds.PatientName, ds.PatientSex, ds.PatientBirthDate = "MRN-EYE-1", "Huang^Xiuying", "F", "19610227"
    ds.StudyDate, ds.AccessionNumber = "20261123", "EYE1"
    ds.save_as(path, enforce_file_format=True)
    r = storescu(gateway, path)
    assert r.returncode == 0, r.stderr
    exam_id = wait_exam(runtime, str(ds.StudyInstanceUID))
    tech = login_cached(gateway.client, "technologist.a")
    exam = wait_for_status(gateway.client, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"})
    assert exam["status"] == "preliminary" and exam["modality"] == "fundus", exam
    with runtime.db.session() as s:
        raw = s.scalars(select(AnalysisRun.raw_findings).where(AnalysisRun.exam_id == exam_id)).one()
    assert raw is not None
    assert raw["laterality"] == "L" and raw["laterality_source"] == "dicom"
    assert raw["image_size"] == [rgb.shape[1], rgb.shape[0]]
