"""The default worker: a thread pool inside the service process, fed from the database queue."""

from __future__ import annotations

import functools
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from dualsign.db import Database
from dualsign.exams.store import FileStore
from dualsign.signing.keys import KeyPair
from dualsign.worker import service

log = logging.getLogger(__name__)


class InProcessWorker:
    def __init__(self, db: Database, store: FileStore, service_key: KeyPair, threads: int = 2,
                 poll_seconds: float = 1.0, lease_seconds: float = 120.0) -> None:
        self.db, self.store, self.service_key = db, store, service_key
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="analysis")
        self.poll_seconds, self.lease_seconds = poll_seconds, lease_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: dict[int, Future[str | None]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        requeued = service.recover_interrupted(self.db)
        if requeued:
            log.warning("requeued %d exam(s) interrupted by the last shutdown: %s", len(requeued), requeued)
        self._thread = threading.Thread(target=self._loop, name="analysis-dispatch", daemon=True)
        self._thread.start()

    def notify(self, exam_id: int | None = None) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)
        self.pool.shutdown(wait=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for exam_id in service.queued_exam_ids(self.db):
                    with self._lock:
                        if exam_id in self._inflight:
                            continue
                        fut = self.pool.submit(service.analyze_exam, self.db, self.store, self.service_key,
                                               exam_id, self.lease_seconds)
                        self._inflight[exam_id] = fut
                        fut.add_done_callback(functools.partial(self._done, exam_id))
            except Exception:  # keep dispatching; the error is logged, the queue is in the database
                log.exception("dispatch loop error")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _done(self, exam_id: int, fut: Future[str | None]) -> None:
        with self._lock:
            self._inflight.pop(exam_id, None)
        if fut.exception() is not None:
            log.error("analysis of exam %s raised %r", exam_id, fut.exception())
        self._wake.set()
