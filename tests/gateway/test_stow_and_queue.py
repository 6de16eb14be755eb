"""STOW-RS with the C-STORE rules, and the outbound queue's retries surviving a restart."""

from __future__ import annotations

import time
from pathlib import Path

import pydicom
from sqlalchemy import func, select

from dualsign.gateway import outbound
from dualsign.gateway.models import DicomInstance, OutboundMessage
from dualsign.gateway.settings import Destination
from dualsign.runtime import Runtime
from tests.core.client import login_cached, review_all, wait_for_status
from tests.core.network import PASSWORD
from tests.gateway.conftest import Gateway, free_port
from tests.gateway.samples import CT_SMALL, MR_SMALL, ecg_dicom
from tests.gateway.test_scp import wait_exam

BOUNDARY = "dualsign-test-boundary"


def _multipart(*parts: bytes) -> bytes:
    body = b"".join(f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
                    for p in parts)
    return body + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}


def test_stow_rs(gateway: Gateway, runtime: Runtime) -> None:
    c = gateway.client
    tech = {**login_cached(c, "technologist.a"), **HEADERS}
    r = c.post("/dicomweb/studies", headers=tech, content=_multipart(CT_SMALL.read_bytes(), MR_SMALL.read_bytes(),
                                                                      b"not dicom at all"))
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["00081199"]["Value"][0]["00081155"]["Value"] == [str(pydicom.dcmread(CT_SMALL).SOPInstanceUID)]
    failures = [f["00081197"]["Value"][0] for f in body["00081198"]["Value"]]
    assert failures[0] == 0x0122 and failures[1] >= 0xC000
    r = c.post("/dicomweb/studies", headers=tech, content=_multipart(CT_SMALL.read_bytes()))
    assert r.status_code == 200, r.text  # the same instance again: fine, stored once
    wait_exam(runtime, str(pydicom.dcmread(CT_SMALL).StudyInstanceUID))
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DicomInstance)) == 1
    r = c.post("/dicomweb/studies", headers={**login_cached(c, "physician.a"), **HEADERS},
               content=_multipart(CT_SMALL.read_bytes()))
    assert r.status_code == 403
    r = c.post("/dicomweb/studies", headers={**login_cached(c, "technologist.a"), "Content-Type": "application/json"},
               content=b"{}")
    assert r.status_code == 415


def test_outbound_retries_with_backoff_and_survives_restart(gateway: Gateway, runtime: Runtime, tmp_path: Path) -> None:
    """Signed while the PACS is down: the SR waits in the queue, attempts back off; nothing is lost."""
    from dataclasses import replace

    from tests.gateway.test_scp import storescu

    path = ecg_dicom(tmp_path / "ecg.dcm")
    assert storescu(gateway, path).returncode == 0
    exam_id = wait_exam(runtime, str(pydicom.dcmread(path).StudyInstanceUID))
    c = gateway.client
    doc = login_cached(c, "physician.a")
    assert wait_for_status(c, doc, exam_id, {"preliminary"})["status"] == "preliminary"
    review_all(c, doc, exam_id)
    assert c.post(f"/api/exams/{exam_id}/sign", headers=doc,
                  json={"password": PASSWORD, "impression": "ok"}).status_code == 200
    # A destination nobody listens on (this gateway's loop has none: we drive the queue by hand).
    down = replace(gateway.settings, destinations=(Destination("PACS", "127.0.0.1", free_port()),),
                   backoff_seconds=0.2)
    assert outbound.poll(runtime.db, runtime.store, down) == 1
    assert outbound.poll(runtime.db, runtime.store, down) == 0  # idempotent
    from dualsign.db import utcnow

    assert outbound.send_due(runtime.db, runtime.store, down) == 0
    with runtime.db.session() as s:
        msg = s.scalars(select(OutboundMessage)).one()
        assert msg.status == "pending" and msg.attempts == 1 and msg.last_error
        first_delay = (msg.next_attempt_at - utcnow()).total_seconds()
    assert outbound.send_due(runtime.db, runtime.store, down) == 0  # not due yet: no attempt
    time.sleep(0.3)
    outbound.send_due(runtime.db, runtime.store, down)
    with runtime.db.session() as s:
        msg = s.scalars(select(OutboundMessage)).one()
        assert msg.attempts == 2 and (msg.next_attempt_at - utcnow()).total_seconds() > 1.5 * first_delay
        sop_uid = msg.sop_instance_uid
    # What a restarted process needs is all in the database and the store: the row and the very SR to resend.
    stored = pydicom.dcmread(runtime.store.path_for(msg.sha256))
    assert stored.SOPInstanceUID == sop_uid and stored.VerificationFlag == "VERIFIED"
