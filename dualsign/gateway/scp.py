"""The DICOM C-STORE / C-ECHO service class provider (pynetdicom).

Associations from calling AE titles not on the allow-list are rejected by pynetdicom itself (calling
AE title not recognised); objects dualsign does not read are never negotiated (presentation context
refused, so a C-STORE of one is answered 0x0122 by the sender's side); each failure inside a C-STORE
gets its own DIMSE status from service.ingest."""

from __future__ import annotations

import logging
from typing import Any

from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from dualsign.audit import service as audit
from dualsign.gateway import service, sop
from dualsign.gateway.settings import GatewaySettings
from dualsign.runtime import Runtime

log = logging.getLogger(__name__)


class DicomServer:
    def __init__(self, rt: Runtime, settings: GatewaySettings, on_stored: Any = None) -> None:
        self.rt, self.settings = rt, settings
        self.on_stored = on_stored  # called after each new instance (wakes the study assembler)
        self._server: Any = None
        self._sites: dict[str, int] = {}

    @property
    def port(self) -> int:
        return int(self._server.server_address[1]) if self._server else self.settings.port

    def start(self) -> None:
        for ae_title in self.settings.peers:
            site = service.site_for_ae(self.rt.db, self.settings.peers, ae_title)
            if site is None:
                raise ValueError(f"DICOM peer {ae_title!r} maps to unknown site {self.settings.peers[ae_title]!r}")
            self._sites[ae_title] = site.id
        ae = AE(ae_title=self.settings.ae_title)
        ae.maximum_pdu_size = self.settings.max_pdu
        ae.require_called_aet = True
        ae.require_calling_aet = list(self.settings.peers)
        ae.add_supported_context(Verification)
        for uid in sop.ACCEPTED:
            ae.add_supported_context(uid, sop.TRANSFER_SYNTAXES)
        handlers: list[Any] = [(evt.EVT_C_STORE, self._store), (evt.EVT_REJECTED, self._rejected)]
        self._server = ae.start_server((self.settings.bind, self.settings.port), block=False,
                                       evt_handlers=handlers)
        log.info("DICOM SCP %s listening on %s:%s", self.settings.ae_title, self.settings.bind, self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None

    def _store(self, event: Any) -> int:
        calling = str(event.assoc.requestor.ae_title).strip()
        site_id = self._sites.get(calling)
        if site_id is None:  # cannot happen past require_calling_aet; refuse rather than guess a site
            return service.PROCESSING_FAILURE
        try:
            data = event.encoded_dataset(include_meta=True)
        except Exception as exc:
            log.warning("C-STORE from %s: undecodable dataset: %s", calling, exc)
            return service.CANNOT_UNDERSTAND
        try:
            outcome = service.ingest(self.rt.db, self.rt.store, data, site_id=site_id, calling_ae=calling,
                                     via="c-store", negotiated_sop_class=str(event.request.AffectedSOPClassUID))
        except Exception:
            log.exception("C-STORE from %s failed", calling)
            return service.PROCESSING_FAILURE
        if not outcome.ok:
            log.warning("C-STORE from %s refused (0x%04X): %s", calling, outcome.status, outcome.reason)
            audit.record_separately(self.rt.db, service.gateway_actor(calling, site_id, event.assoc.requestor.address),
                                    "upload", "dicom-instance", outcome.sop_instance_uid or None, outcome="failure",
                                    detail={"calling_ae": calling, "status": f"0x{outcome.status:04X}",
                                            "why": outcome.reason})
        elif not outcome.duplicate and self.on_stored is not None:
            self.on_stored()
        return outcome.status

    def _rejected(self, event: Any) -> None:
        calling = str(event.assoc.requestor.ae_title).strip()
        audit.record_separately(self.rt.db, service.gateway_actor(calling, None, event.assoc.requestor.address),
                                "create", "dicom-association", None, outcome="denied",
                                detail={"calling_ae": calling, "why": "calling AE title not on the allow-list"})
