"""`dualsign audit verify` and `dualsign audit export` against a configured database."""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle

from dualsign import runtime
from dualsign.audit import cli
from dualsign.db import Database
from dualsign.settings import Settings
from tests.audit.conftest import fill, sql


@pytest.fixture
def run(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    settings = dataclasses.replace(Settings.from_env(), database_url=database.url)
    monkeypatch.setattr("dualsign.settings._current", settings)
    monkeypatch.setattr(runtime, "get_database", lambda: database)
    monkeypatch.setattr(cli, "get_database", lambda: database)
    parser = argparse.ArgumentParser(prog="dualsign")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))

    def _run(*argv: str) -> int:
        args = parser.parse_args(argv)
        code: int = args.func(args)
        return code

    yield _run


def test_verify_reports_intact_then_names_the_tampered_row(
    database: Database, run: object, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(database, 6)
    assert run("audit", "verify") == 0  # type: ignore[operator]
    assert capsys.readouterr().out.strip() == "audit trail intact: 6 events"
    sql(database, "DELETE FROM audit_event WHERE seq = 4")
    assert run("audit", "verify") == 1  # type: ignore[operator]
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("seq 4: record missing")


def test_export_writes_a_fhir_bundle_and_is_itself_audited(
    database: Database, run: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(database, 5)
    out = tmp_path / "audit.json"
    assert run("audit", "export", "--since", "2000-01-01T00:00:00", "--out", str(out)) == 0  # type: ignore[operator]
    bundle = json.loads(out.read_text("utf-8"))
    Bundle.model_validate(bundle)
    assert len(bundle["entry"]) == 5
    assert run("audit", "export", "--action", "export") == 0  # type: ignore[operator]
    exported = json.loads(capsys.readouterr().out)
    trail_exports = [e["resource"] for e in exported["entry"]
                     if e["resource"]["entity"][0]["what"]["display"] == "audit_trail"]
    assert len(trail_exports) == 1  # the first export, recorded by the system with its details
    assert {"type": "events", "valueString": "5"} in trail_exports[0]["entity"][0]["detail"]
    assert run("audit", "verify") == 0  # type: ignore[operator]
    assert "7 events" in capsys.readouterr().out


def _rewrite_whole_chain(database: Database, seq: int, note: str) -> None:
    """What someone with write access to the database could do: change a record and recompute every hash after
    it, and the head, so that the chain is consistent in itself."""
    from sqlalchemy import select, update

    from dualsign.audit.chain import event_hash
    from dualsign.audit.models import AuditEvent, AuditHead

    with database.session() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        prev = events[seq - 2].hash if seq > 1 else "0" * 64
        for e in events[seq - 1:]:
            if e.seq == seq:
                e.note = note
            e.prev_hash = prev
            e.hash = prev = event_hash(e)
        s.flush()
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev))


def test_anchor_catches_a_chain_rewritten_whole(
    database: Database, run: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    assert run("audit", "anchor", "--out", str(anchors)) == 0  # type: ignore[operator]
    assert "nothing to anchor" in capsys.readouterr().err and not anchors.exists()
    fill(database, 6)
    assert run("audit", "anchor", "--out", str(anchors)) == 0  # type: ignore[operator]  # head: seq 6
    fill(database, 2)  # seq 7 is the anchoring itself (audited), then 8 and 9
    assert run("audit", "anchor", "--out", str(anchors)) == 0  # type: ignore[operator]
    lines = anchors.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [6, 9]
    assert run("audit", "verify", "--anchors", str(anchors)) == 0  # type: ignore[operator]
    assert "2 anchors match" in capsys.readouterr().out
    _rewrite_whole_chain(database, 3, "edited afterwards")
    assert run("audit", "verify") == 0  # type: ignore[operator]  # consistent in itself: the chain alone cannot tell
    capsys.readouterr()
    assert run("audit", "verify", "--anchors", str(anchors)) == 1  # type: ignore[operator]
    out = capsys.readouterr().out
    assert out.count("the trail up to here was rewritten") == 2 and out.startswith("seq 6")


def test_unreadable_anchor_file_is_named(run: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "anchors.jsonl"
    bad.write_text('{"seq": 1, "hash": "' + "a" * 64 + '", "at": "x"}\n{"seq": "one"}\n')
    assert run("audit", "verify", "--anchors", str(bad)) == 2  # type: ignore[operator]
    assert f"{bad} line 2: not an audit anchor" in capsys.readouterr().out
    bad.write_text('{"seq": 1, "hash": "' + "z" * 64 + '", "at": "x"}\n')  # 64 characters, not hex
    assert run("audit", "verify", "--anchors", str(bad)) == 2  # type: ignore[operator]
    assert f"{bad} line 1: not an audit anchor" in capsys.readouterr().out
