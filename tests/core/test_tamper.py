"""Tamper evidence: a changed byte in a stored final report, a deleted audit row."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from dualsign.app import create_app
from dualsign.audit.models import AuditEvent
from dualsign.reports.models import Report
from dualsign.runtime import Runtime
from tests.core.client import login_cached, signed_exam
from tests.core.network import build_network


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    build_network(runtime)
    with TestClient(create_app(runtime)) as c:
        yield c


def _cli(runtime: Runtime, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DUALSIGN_HOME": str(runtime.settings.home),
           "DUALSIGN_DATABASE_URL": runtime.settings.database_url}
    return subprocess.run([sys.executable, "-m", "dualsign.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_changed_byte_in_final_report_is_named(client: TestClient, runtime: Runtime) -> None:
    signed_exam(client, "E07509", mrn="T1")
    other = signed_exam(client, "HR06004", mrn="T2")
    ok = _cli(runtime, "verify")
    assert ok.returncode == 0, ok.stdout + ok.stderr

    with runtime.db.session() as s:
        report = s.scalar(select(Report).where(Report.exam_id == other, Report.status == "final"))
        assert report is not None
        target_id, content = report.id, report.content_json
        # One byte: the impression's first letter, changed in the database behind the service's back.
        i = content.index("Reviewed.")
        s.execute(text("UPDATE report SET content_json = :c WHERE id = :i"),
                  {"c": content[:i] + "X" + content[i + 1:], "i": target_id})

    bad = _cli(runtime, "verify")
    assert bad.returncode == 1
    named = {line.split()[1] for line in bad.stdout.splitlines() if line.startswith("report ")}
    assert named == {str(target_id)}, bad.stdout
    result = client.get("/api/verify", headers=login_cached(client, "admin.a")).json()
    assert result["intact"] is False and {p["report_id"] for p in result["problems"]} == {target_id}


def test_deleted_audit_row_fails_at_that_row(client: TestClient, runtime: Runtime) -> None:
    signed_exam(client, "E07509", mrn="T3")
    assert _cli(runtime, "audit", "verify").returncode == 0
    with runtime.db.session() as s:
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        victim = seqs[len(seqs) // 2]
        s.execute(text("DELETE FROM audit_event WHERE seq = :q"), {"q": victim})
    bad = _cli(runtime, "audit", "verify")
    assert bad.returncode == 1
    assert f"seq {victim}" in bad.stdout, bad.stdout
    result = client.get("/api/audit/verify", headers=login_cached(client, "auditor.a")).json()
    assert result["intact"] is False and victim in {p["seq"] for p in result["problems"]}
