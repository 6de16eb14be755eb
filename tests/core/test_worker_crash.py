"""Crash: `dualsign serve` killed with SIGKILL while its in-process worker analyses; after a restart
every exam completes once — nothing lost, nothing duplicated — on SQLite and on PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from dualsign import migrate
from dualsign.analyzers.models import AnalysisRun
from dualsign.analyzers.registry import analyzer_for_modality
from dualsign.exams.models import Exam, ExamTransition
from dualsign.reports.models import Report
from dualsign.review.models import Finding
from dualsign.runtime import build_runtime
from dualsign.signing.models import Signature
from tests.conftest import DEMO_SAMPLES, TEST_DATA, make_settings
from tests.core.network import PASSWORD, build_network
from tests.core.procs import Proc, login, long_records, run_cli, serve, service_env, upload

DONE = {"preliminary", "qc_failed", "analysis_failed"}


def _analyzing(engine: Engine) -> list[tuple[int, int, str]]:
    """(exam id, run id, run outcome) of every exam now in 'analyzing'."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(  # type: ignore[misc]
            select(Exam.id, AnalysisRun.id, AnalysisRun.outcome)
            .join(AnalysisRun, AnalysisRun.exam_id == Exam.id)
            .where(Exam.status == "analyzing").order_by(AnalysisRun.id))]


def _wait_done(engine: Engine, exam_ids: set[int], timeout: float = 90) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            status = dict(conn.execute(select(Exam.id, Exam.status).where(Exam.id.in_(exam_ids))).all())
        if set(status) == exam_ids and set(status.values()) <= DONE:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"exams not done after {timeout} s: {status}")
        time.sleep(0.2)


def test_sigkill_mid_analysis_then_restart(database_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    migrate.upgrade(database_url)
    rt = build_runtime(make_settings(home, database_url))
    build_network(rt)
    rt.db.engine.dispose()
    engine = create_engine(database_url)  # plain reads: never hold SQLite's write lock

    batch = long_records(tmp_path / "records", 10)
    batch += [sorted(DEMO_SAMPLES.glob(f"{name}.*")) for name in ("E07504", "HR06004", "mitdb223_vt")]
    batch += [sorted((TEST_DATA / "ecg").glob("A00027.*"))]
    uploaded: dict[int, list[Path]] = {}
    caught: list[tuple[int, int, str]] = []
    proc: Proc | None = None
    try:
        proc, base = serve(home, database_url)
        tech = login(base, "technologist.a", PASSWORD)
        pending = list(enumerate(batch))
        # Upload one by one, watching the database; the moment an analysis is under way, kill -9.
        while pending and not caught:
            i, paths = pending.pop(0)
            r = upload(base, tech, paths, mrn=f"MRN-{i}")
            assert r.status_code == 201, r.text
            uploaded[r.json()["id"]] = paths
            until = time.monotonic() + (0.5 if pending else 10)
            while time.monotonic() < until and not (caught := _analyzing(engine)):
                time.sleep(0.005)
        assert caught, "no exam was ever seen in 'analyzing'"
        proc.kill()
        # The database as the dead process left it: the exam taken, its run still 'running'.
        after_kill = _analyzing(engine)
        assert after_kill, "the worker finished before it was killed"
        assert all(outcome == "running" for _, _, outcome in after_kill), after_kill
        interrupted = {exam_id: run_id for exam_id, run_id, _ in after_kill}

        proc, base = serve(home, database_url)
        tech = login(base, "technologist.a", PASSWORD)
        for i, paths in pending:  # the rest of the batch arrives after the restart
            r = upload(base, tech, paths, mrn=f"MRN-{i}")
            assert r.status_code == 201, r.text
            uploaded[r.json()["id"]] = paths
        status = _wait_done(engine, set(uploaded))
        assert len(uploaded) == len(batch)
        assert set(status.values()) == {"preliminary"}, status
    finally:
        if proc is not None:
            proc.kill()

    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Exam)) == len(batch)  # none lost, none doubled
        for exam_id in uploaded:
            runs = conn.execute(select(AnalysisRun.id, AnalysisRun.outcome).where(AnalysisRun.exam_id == exam_id)
                                .order_by(AnalysisRun.id)).all()
            succeeded = [run_id for run_id, outcome in runs if outcome == "succeeded"]
            assert len(succeeded) == 1, (exam_id, runs)
            reports = conn.execute(select(Report.id, Report.version, Report.status, Report.analysis_run_id)
                                   .where(Report.exam_id == exam_id)).all()
            assert [(v, s, run) for _, v, s, run in reports] == [(1, "preliminary", succeeded[0])], reports
            kinds = conn.scalars(select(Signature.signer_kind).where(Signature.report_id == reports[0][0])).all()
            assert kinds == ["ai"], (exam_id, kinds)
            finding_runs = conn.scalars(select(Finding.analysis_run_id).where(Finding.exam_id == exam_id)).all()
            assert finding_runs and set(finding_runs) == {succeeded[0]}, (exam_id, finding_runs)

        analyzer = analyzer_for_modality("ecg")
        for exam_id, run_id in interrupted.items():
            assert conn.scalar(select(AnalysisRun.outcome).where(AnalysisRun.id == run_id)) == "abandoned"
            history = conn.scalars(select(ExamTransition.to_status).where(ExamTransition.exam_id == exam_id)
                                   .order_by(ExamTransition.id)).all()
            assert history[history.index("analyzing"):] == ["analyzing", "queued", "analyzing", "preliminary"], \
                history
            # Exactly the findings of one analysis of these files: none written twice.
            expected = len(analyzer.analyze(uploaded[exam_id]).findings)
            assert conn.scalar(select(func.count()).select_from(Finding).where(Finding.exam_id == exam_id)) \
                == expected
    engine.dispose()

    env = service_env(home, database_url)
    for command in (["verify"], ["audit", "verify"]):
        done = run_cli(command, env)
        assert done.returncode == 0, (command, done.stdout, done.stderr)

