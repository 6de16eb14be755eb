"""The scale-out worker: Celery with a Redis broker. Same claim-and-analyse step as in-process; the
task is acknowledged late so that a worker killed mid-analysis has its task delivered again."""

from __future__ import annotations

from celery import Celery

from dualsign.settings import get_settings

app = Celery("dualsign", broker=get_settings().broker_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    broker_connection_retry_on_startup=True,
)


@app.task(name="dualsign.analyze_exam")
def analyze_exam(exam_id: int) -> str | None:
    from dualsign.runtime import get_runtime
    from dualsign.worker import service

    rt = get_runtime()
    return service.analyze_exam(rt.db, rt.store, rt.service_key, exam_id)


class CeleryDispatcher:
    """Hands queued exams to Celery. Duplicate deliveries are harmless: only one claim succeeds."""

    def start(self) -> None:
        pass

    def notify(self, exam_id: int | None = None) -> None:
        if exam_id is not None:
            analyze_exam.delay(exam_id)

    def stop(self) -> None:
        pass
