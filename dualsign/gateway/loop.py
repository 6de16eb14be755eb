"""The gateway's background thread: quiet studies become exams, signed reports go back to PACS.

One thread polling the database (its source of truth), so a restart loses nothing: open studies are
assembled and pending messages sent on the next tick. A stored instance wakes it early."""

from __future__ import annotations

import logging
import threading

from dualsign.gateway import outbound, service
from dualsign.gateway.settings import GatewaySettings
from dualsign.runtime import Runtime

log = logging.getLogger(__name__)


class GatewayLoop:
    def __init__(self, rt: Runtime, settings: GatewaySettings) -> None:
        self.rt, self.settings = rt, settings
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def tick(self) -> None:
        for study_id in service.due_studies(self.rt.db, self.settings.quiet_seconds):
            exam_id = service.assemble(self.rt.db, self.rt.store, study_id, self.settings.quiet_seconds)
            if exam_id is not None:
                self.rt.notify(exam_id)
        if self.settings.destinations:
            outbound.poll(self.rt.db, self.rt.store, self.settings)
            outbound.send_due(self.rt.db, self.rt.store, self.settings)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a bad tick is logged and retried; the thread must not die
                log.exception("gateway tick failed")
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dicom-gateway", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
