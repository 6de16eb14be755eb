"""A failed analysis is recorded with its reason, kept, and can be retried once the cause is fixed."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient
from sqlalchemy import select

from dualsign.analyzers.models import AnalysisRun
from dualsign.app import create_app
from dualsign.runtime import Runtime
from dualsign.worker import service as worker
from tests.core.client import login_cached, sample_files, upload
from tests.core.network import build_network


def test_missing_stored_file_fails_then_retry_succeeds(runtime: Runtime) -> None:
    build_network(runtime)
    # No worker threads: this test drives the worker step by step.
    with TestClient(create_app(runtime, start_worker=False)) as client:
        tech = login_cached(client, "technologist.a")
        exam = upload(client, tech, sample_files("HR06004"), mrn="F1").json()
        assert exam["status"] == "queued"
        # The file store loses a file (a disk or network-share fault): the analysis cannot run.
        stored = runtime.store.path_for(exam["files"][0]["sha256"])
        backup = stored.with_name("backup")
        shutil.move(stored, backup)
        assert worker.analyze_exam(runtime.db, runtime.store, runtime.service_key, exam["id"]) == "analysis_failed"
        failed = client.get(f"/api/exams/{exam['id']}", headers=tech).json()
        assert failed["status"] == "analysis_failed" and exam["files"][0]["filename"] in failed["last_error"]

        # Once the file is back, a retry (only one: a queued exam cannot be retried again) succeeds.
        shutil.move(backup, stored)
        r = client.post(f"/api/exams/{exam['id']}/retry", headers=tech)
        assert r.status_code == 200 and r.json()["status"] == "queued"
        assert client.post(f"/api/exams/{exam['id']}/retry", headers=tech).status_code == 409
        assert worker.analyze_exam(runtime.db, runtime.store, runtime.service_key, exam["id"]) == "preliminary"
        with runtime.db.session() as s:
            outcomes = [r.outcome for r in s.scalars(select(AnalysisRun).where(AnalysisRun.exam_id == exam["id"])
                                                     .order_by(AnalysisRun.id))]
        assert outcomes == ["failed", "succeeded"]
        history = [h["to"] for h in client.get(f"/api/exams/{exam['id']}", headers=tech).json()["history"]]
        assert history == ["received", "queued", "analyzing", "analysis_failed", "queued", "analyzing", "preliminary"]
