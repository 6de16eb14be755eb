"""Scale path: PostgreSQL + Redis + a real Celery worker (`dualsign worker`) behind an API served with
`dualsign serve --no-worker`. Uploads reach the worker only through the broker; a worker killed with
SIGKILL mid-task has its exam finished after a restart, exactly once."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import create_engine, func, select

from dualsign import migrate
from dualsign.analyzers.models import AnalysisRun
from dualsign.billing.models import Claim
from dualsign.exams.models import Exam, ExamTransition
from dualsign.reports.models import Report
from dualsign.review.models import Finding
from dualsign.runtime import build_runtime
from tests.conftest import DEMO_SAMPLES, _postgres_database, make_settings
from tests.core.network import PASSWORD, build_network
from tests.core.procs import Proc, login, long_records, serve, service_env, upload

pytestmark = pytest.mark.postgres

REDIS_DB = 15
BROKER = f"redis://127.0.0.1:6379/{REDIS_DB}"
LEASE = 3  # seconds without a heartbeat before a run counts as dead
CELERY = dict(worker="celery", broker_url=BROKER, analysis_lease_seconds=str(LEASE),
              broker_visibility_timeout="5")


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture
def broker() -> Iterator[None]:
    r = redis.Redis.from_url(BROKER)
    r.flushdb()  # this test's own database number: nothing of anyone else's is touched
    yield
    r.flushdb()
    r.close()


def _worker(home: Path, url: str, n: int) -> Proc:
    return Proc(["worker", "--concurrency", "1"], service_env(home, url, **CELERY), home / f"worker-{n}.log")


def _status(base: str, headers: dict[str, str], exam_id: int, wanted: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = httpx.get(f"{base}/api/exams/{exam_id}", headers=headers, timeout=10).json()["status"]
        if status in wanted:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"exam {exam_id} stuck in {status}")
        time.sleep(0.2)


def _task_ids(log: str, event: str) -> set[str]:
    return set(re.findall(rf"Task dualsign\.analyze_exam\[([0-9a-f-]+)\] {event}", log))


def test_celery_worker_analyses_and_survives_sigkill(pg_url: str, broker: None, tmp_path: Path) -> None:
    home = tmp_path / "home"
    migrate.upgrade(pg_url)
    rt = build_runtime(make_settings(home, pg_url))
    build_network(rt)
    rt.db.engine.dispose()
    engine = create_engine(pg_url)
    records = long_records(tmp_path / "records", 1, first_minutes=20)
    procs: list[Proc] = []
    try:
        worker = _worker(home, pg_url, 1)
        procs.append(worker)
        api, base = serve(home, pg_url, "--no-worker", **CELERY)
        procs.append(api)
        tech, doc = login(base, "technologist.a", PASSWORD), login(base, "physician.a", PASSWORD)

        # Upload -> Celery -> preliminary -> the physician reviews and signs -> final, one claim.
        r = upload(base, tech, sorted(DEMO_SAMPLES.glob("E07509.*")), mrn="MRN-1")
        assert r.status_code == 201, r.text
        exam_id = r.json()["id"]
        assert _status(base, tech, exam_id, {"preliminary", "qc_failed", "analysis_failed"}) == "preliminary"
        findings = httpx.get(f"{base}/api/exams/{exam_id}/findings", headers=doc, timeout=10).json()["items"]
        assert findings
        for f in findings:
            r = httpx.post(f"{base}/api/exams/{exam_id}/findings/{f['id']}/decision", headers=doc,
                           json={"decision": "accepted"}, timeout=10)
            assert r.status_code == 200, r.text
        r = httpx.post(f"{base}/api/exams/{exam_id}/sign", headers=doc, timeout=30,
                       json={"password": PASSWORD, "impression": "Read on the Celery path."})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "final" and r.json()["verified"]
        assert _status(base, tech, exam_id, {"final"}) == "final"
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(Claim).where(Claim.exam_id == exam_id)) == 1
        assert _task_ids(worker.output(), "succeeded")  # it was the Celery worker that analysed it

        # A twenty-minute record; the moment the worker has claimed it, kill -9 the whole worker.
        r = upload(base, tech, records[0], mrn="MRN-2")
        assert r.status_code == 201, r.text
        long_id = r.json()["id"]
        deadline = time.monotonic() + 30
        with engine.connect() as conn:
            while conn.scalar(select(Exam.status).where(Exam.id == long_id)) != "analyzing":
                assert time.monotonic() < deadline, "the worker never claimed the exam"
                conn.rollback()
                time.sleep(0.005)
        worker.kill()
        with engine.connect() as conn:
            runs = conn.execute(select(AnalysisRun.id, AnalysisRun.outcome)
                                .where(AnalysisRun.exam_id == long_id)).all()
            assert conn.scalar(select(Exam.status).where(Exam.id == long_id)) == "analyzing"
        assert [outcome for _, outcome in runs] == ["running"], runs
        first_log = worker.output()
        in_flight = _task_ids(first_log, "received") - _task_ids(first_log, r"succeeded in")
        assert len(in_flight) == 1, first_log

        restarted = _worker(home, pg_url, 2)
        procs.append(restarted)
        assert _status(base, tech, long_id, {"preliminary", "qc_failed", "analysis_failed"}) == "preliminary"
        # The unacknowledged task comes back from Redis (acks_late); only one analysis is kept. Generous
        # deadline: redelivery waits for the broker's restore scan, slow on a loaded machine.
        deadline = time.monotonic() + 90
        while not in_flight <= _task_ids(restarted.output(), "received"):
            assert time.monotonic() < deadline, f"task {in_flight} was not redelivered:\n{restarted.output()}"
            time.sleep(0.5)
    finally:
        for proc in reversed(procs):
            proc.kill()

    with engine.connect() as conn:
        runs = conn.execute(select(AnalysisRun.id, AnalysisRun.outcome).where(AnalysisRun.exam_id == long_id)
                            .order_by(AnalysisRun.id)).all()
        assert [outcome for _, outcome in runs] == ["abandoned", "succeeded"], runs
        reports = conn.execute(select(Report.version, Report.status).where(Report.exam_id == long_id)).all()
        assert reports == [(1, "preliminary")], reports
        finding_runs = set(conn.scalars(select(Finding.analysis_run_id).where(Finding.exam_id == long_id)))
        assert finding_runs == {runs[1][0]}
        history = conn.scalars(select(ExamTransition.to_status).where(ExamTransition.exam_id == long_id)
                               .order_by(ExamTransition.id)).all()
        assert history[history.index("analyzing"):] == ["analyzing", "queued", "analyzing", "preliminary"], history
    engine.dispose()
