"""The scale-out worker: Celery with a Redis broker. Same claim-and-analyse step as in-process.

Crash safety does not rest on the broker alone. Tasks are acknowledged late (a worker killed
mid-analysis has its task delivered again: at once when only a pool process dies, after the
broker's visibility timeout when the whole worker dies), but the exam it was analysing is still
marked 'analyzing'. Each running analysis therefore renews a heartbeat on its AnalysisRun; every
worker sweeps for runs silent for a whole lease and queues their exams again (a conditional update,
so only one sweeper wins and a live worker's exam is never taken), and a redelivered task takes
over its own exam the same way.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from dualsign.db import Database
from dualsign.settings import get_settings

log = logging.getLogger(__name__)

_settings = get_settings()
app = Celery("dualsign", broker=_settings.broker_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": _settings.broker_visibility_timeout,
        # Look for unacknowledged tasks of dead workers every few seconds (kombu's default waits up
        # to ~100 s between scans); each scan is one cheap sorted-set range query.
        "unacked_restore_interval": max(1, min(10, _settings.broker_visibility_timeout // 2)),
        "unacked_restore_throttle": 1,
    },
)


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    # A forked pool process must not reuse the parent's database connections (one socket, two users).
    from dualsign.runtime import get_runtime
    from dualsign.worker.allocator import keep_freed_memory

    get_runtime().db.engine.dispose(close=False)
    keep_freed_memory()  # each pool process analyses exam after exam


@app.task(name="dualsign.analyze_exam")
def analyze_exam(exam_id: int) -> str | None:
    from dualsign.runtime import get_runtime
    from dualsign.worker import service

    rt = get_runtime()
    lease = rt.settings.analysis_lease_seconds
    status = service.analyze_exam(rt.db, rt.store, rt.service_key, exam_id, lease)
    if status is None and service.requeue_stale(rt.db, lease, [exam_id]):
        status = service.analyze_exam(rt.db, rt.store, rt.service_key, exam_id, lease)
    return status


def dispatch_queued(db: Database) -> int:
    """Hand every queued exam to Celery (duplicates are harmless: only one claim succeeds)."""
    from dualsign.worker import service

    ids = service.queued_exam_ids(db, limit=10_000)
    for exam_id in ids:
        analyze_exam.delay(exam_id)
    return len(ids)


class StaleSweeper:
    """Runs beside a Celery worker: requeues and dispatches exams whose analysis lease lapsed."""

    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db, self.lease_seconds = db, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="stale-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sweep(self) -> list[int]:
        from dualsign.worker import service

        requeued = service.requeue_stale(self.db, self.lease_seconds)
        for exam_id in requeued:
            analyze_exam.delay(exam_id)
        if requeued:
            log.warning("requeued %d exam(s) whose worker stopped mid-analysis: %s", len(requeued), requeued)
        return requeued

    def _loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 2):
            try:
                self.sweep()
            except Exception:  # the next sweep tries again; the queue is in the database
                log.exception("stale-analysis sweep failed")


class CeleryDispatcher:
    """Hands queued exams to Celery. Duplicate deliveries are harmless: only one claim succeeds."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self) -> None:
        # Exams queued while nothing dispatched them (e.g. demo exams seeded before the API started);
        # a broker that is down must not stop the API: workers dispatch the queue when they start.
        try:
            dispatch_queued(self.db)
        except Exception:
            log.exception("could not hand queued exams to the broker")

    def notify(self, exam_id: int | None = None) -> None:
        if exam_id is not None:
            analyze_exam.delay(exam_id)

    def stop(self) -> None:
        pass
