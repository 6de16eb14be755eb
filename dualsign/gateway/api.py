"""DICOMweb STOW-RS (PS3.18 10.5): POST /dicomweb/studies, multipart/related of application/dicom parts.

Same rules as C-STORE (service.ingest); the sending site is the technologist's own. The router's
lifespan runs the gateway loop with the app when the gateway is configured (peers or destinations),
and the DICOM listener too when DUALSIGN_DICOM_WITH_API=1 (one process for both)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from pydicom import Dataset

from dualsign.accounts.models import Role
from dualsign.gateway import service
from dualsign.gateway.loop import GatewayLoop
from dualsign.gateway.scp import DicomServer
from dualsign.gateway.settings import GatewaySettings
from dualsign.http import Principal, RuntimeDep, require_roles


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: GatewaySettings = getattr(app.state, "gateway_settings", None) or GatewaySettings.from_env()
    app.state.gateway_settings = settings
    loop = GatewayLoop(app.state.runtime, settings)
    app.state.gateway_loop = loop
    server = DicomServer(app.state.runtime, settings, on_stored=loop.wake) if settings.with_api else None
    if server is not None:
        server.start()
    if settings.peers or settings.destinations:
        loop.start()
    try:
        yield
    finally:
        if server is not None:
            server.stop()
        loop.stop()


router = APIRouter(prefix="/dicomweb", tags=["dicomweb"], lifespan=lifespan)
Sender = Annotated[Principal, Depends(require_roles(Role.TECHNOLOGIST))]
DICOM_JSON = "application/dicom+json"


def _parts(content_type: str, body: bytes) -> list[bytes]:
    if not content_type.lower().startswith("multipart/related"):
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "expected multipart/related; type=application/dicom")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    if not message.is_multipart():
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "multipart body without parts (check the boundary)")
    parts: list[bytes] = []
    for part in message.iter_parts():
        if part.get_content_type() != "application/dicom":
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                                f"part of type {part.get_content_type()}: only application/dicom is accepted")
        payload = part.get_payload(decode=True)
        parts.append(payload if isinstance(payload, bytes) else b"")
    return parts


@router.post("/studies", responses={200: {"content": {DICOM_JSON: {}}}})
async def stow(request: Request, rt: RuntimeDep, principal: Sender) -> Response:
    parts = _parts(request.headers.get("content-type", ""), await request.body())
    referenced, failed = [], []
    for data in parts:
        outcome = service.ingest(rt.db, rt.store, data, site_id=principal.site_id,
                                 calling_ae="STOW-RS", via="stow-rs")
        item = Dataset()
        item.ReferencedSOPClassUID = outcome.sop_class_uid or "1.2.840.10008.5.1.4.1.1.7"
        item.ReferencedSOPInstanceUID = outcome.sop_instance_uid or "2.25.0"
        if outcome.ok:
            referenced.append(item)
        else:
            item.FailureReason = outcome.status
            failed.append(item)
    if referenced and (loop := getattr(request.app.state, "gateway_loop", None)) is not None:
        loop.wake()
    response = Dataset()
    response.RetrieveURL = str(request.url)
    if referenced:
        response.ReferencedSOPSequence = referenced
    if failed:
        response.FailedSOPSequence = failed
    code = status.HTTP_200_OK if not failed else status.HTTP_202_ACCEPTED if referenced else status.HTTP_409_CONFLICT
    body: dict[str, Any] = response.to_json_dict()
    import json

    return Response(json.dumps(body), status_code=code, media_type=DICOM_JSON)
