from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import update

from dualsign.billing import cli
from dualsign.billing.catalogue import Catalogue
from dualsign.billing.models import Claim
from dualsign.billing.service import charge_for_final_report, claims, reverse_charge
from dualsign.billing.settlement import CSV_COLUMNS, Settlement, settlement, settlement_csv, settlement_json
from dualsign.db import Database
from dualsign.exams.models import Exam
from dualsign.reports.models import Report

from .conftest import INSURANCE_NUMBER, ExamRef, MakeExam, World

UTC = dt.UTC
APR1, APR2 = dt.date(2026, 4, 1), dt.date(2026, 4, 2)


def _charge_at(db: Database, catalogue: Catalogue, ref: ExamRef, at: dt.datetime) -> int:
    with db.session() as s:
        claim = charge_for_final_report(s, exam=s.get_one(Exam, ref.exam_id),
                                        report=s.get_one(Report, ref.report_id),
                                        insurance_number=INSURANCE_NUMBER, actor_id=None, catalogue=catalogue)
        s.execute(update(Claim).where(Claim.id == claim.id).values(created_at=at))
        return claim.id


def _reverse_at(db: Database, ref: ExamRef, at: dt.datetime) -> int:
    with db.session() as s:
        exam = s.get_one(Exam, ref.exam_id)
        exam.status = "retracted"
        claim = reverse_charge(s, exam=exam, report=s.get_one(Report, ref.report_id), reason="wrong patient",
                               actor_id=None)
        assert claim is not None
        s.execute(update(Claim).where(Claim.id == claim.id).values(created_at=at))
        return claim.id


@pytest.fixture
def ledger(database: Database, make_exam: MakeExam, catalogue: Catalogue, world: World) -> dict[str, int]:
    """Entries around the Shanghai midnight between 1 and 2 April 2026 (16:00 UTC)."""
    ecg, ct, fundus = make_exam(modality="ecg"), make_exam(modality="chest_ct"), make_exam(modality="fundus")
    elsewhere = make_exam(modality="ecg", site_id=world.other_site_id)
    def utc(y: int, mo: int, d: int, h: int, mi: int, sec: int = 0) -> dt.datetime:
        return dt.datetime(y, mo, d, h, mi, sec, tzinfo=UTC)

    return {  # comments: the Shanghai local time
        "ecg": _charge_at(database, catalogue, ecg, utc(2026, 4, 1, 15, 59, 59)),  # 1 Apr 23:59:59
        "ct": _charge_at(database, catalogue, ct, utc(2026, 4, 1, 16, 0)),  # 2 Apr 00:00
        "fundus": _charge_at(database, catalogue, fundus, utc(2026, 3, 31, 16, 0)),  # 1 Apr 00:00
        "fundus_rev": _reverse_at(database, fundus, utc(2026, 4, 2, 2, 0)),  # 2 Apr 10:00
        "elsewhere": _charge_at(database, catalogue, elsewhere, utc(2026, 4, 1, 4, 0)),  # 1 Apr 12:00
        "before": _charge_at(database, catalogue, make_exam(), utc(2026, 3, 31, 15, 59)),  # 31 Mar 23:59
    }


def _settle(db: Database, site_id: int, start: dt.date, end: dt.date) -> Settlement:
    with db.session() as s:
        return settlement(s, site_id=site_id, start=start, end=end)


def test_days_are_shanghai_days(database: Database, ledger: dict[str, int], world: World) -> None:
    ids = lambda r: [line.entry_id for line in r.lines]  # noqa: E731
    assert ids(_settle(database, world.site_id, APR1, APR1)) == [ledger["fundus"], ledger["ecg"]]
    assert ids(_settle(database, world.site_id, APR2, APR2)) == [ledger["ct"], ledger["fundus_rev"]]
    with database.session() as s:
        everywhere = [c.id for c in claims(s, site_ids=None, start=APR1, end=APR1)]
        assert everywhere == [ledger["fundus"], ledger["elsewhere"], ledger["ecg"]]
        assert [c.id for c in claims(s, site_ids=[world.other_site_id], start=APR1, end=APR2)] == [
            ledger["elsewhere"]]
        assert claims(s, site_ids=[], start=APR1, end=APR2) == []
        with pytest.raises(ValueError, match="before it starts"):
            claims(s, site_ids=None, start=APR2, end=APR1)


def test_totals_per_service_and_overall(database: Database, ledger: dict[str, int], world: World) -> None:
    result = _settle(database, world.site_id, APR1, APR2)
    assert len(result.lines) == 4
    by_code = {st.service_code: st.totals for st in result.services}
    assert (by_code["AI0101001"].count, by_code["AI0101001"].amount_fen) == (1, 1000)
    assert (by_code["AI0201001"].self_pay_fen, by_code["AI0201001"].fund_fen) == (250, 2250)
    fundus = by_code["AI0301001"]
    assert (fundus.charge_count, fundus.reversal_count, fundus.count, fundus.amount_fen) == (1, 1, 0, 0)
    assert (result.total.count, result.total.amount_fen) == (2, 3500)
    assert (result.total.self_pay_fen, result.total.fund_fen) == (350, 3150)


def test_csv_parses_back_and_matches_totals(database: Database, ledger: dict[str, int], world: World) -> None:
    result = _settle(database, world.site_id, APR1, APR2)
    text = settlement_csv(result)
    text.encode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    rows = list(reader)
    assert [int(r["entry_id"]) for r in rows] == [line.entry_id for line in result.lines]
    for r in rows:
        assert int(r["self_pay_fen"]) + int(r["fund_fen"]) == int(r["amount_fen"])
        assert r["created_at"].endswith("+08:00")
    for key in ("amount_fen", "self_pay_fen", "fund_fen"):
        assert sum(int(r[key]) for r in rows) == getattr(result.total, key)
    reversal = next(r for r in rows if r["entry_kind"] == "reversal")
    assert reversal["reverses_id"] == str(ledger["fundus"]) and reversal["amount_fen"] == "-2000"
    assert reversal["service_name"] == "人工智能辅助诊断（眼底糖网）"
    assert next(r for r in rows if r["entry_kind"] == "charge")["reverses_id"] == ""
    assert rows[0]["created_at"] == "2026-04-01T00:00:00+08:00"


def test_json_is_serialisable_and_consistent(
    database: Database, ledger: dict[str, int], world: World
) -> None:
    doc = json.loads(json.dumps(settlement_json(_settle(database, world.site_id, APR1, APR2))))
    assert doc["site"]["code"] == "C001"
    assert doc["period"] == {"start": "2026-04-01", "end": "2026-04-02", "timezone": "Asia/Shanghai",
                             "inclusive": True}
    for key in ("amount_fen", "self_pay_fen", "fund_fen", "count"):
        assert sum(s[key] for s in doc["services"]) == doc["totals"][key]
    for key in ("amount_fen", "self_pay_fen", "fund_fen"):
        assert sum(line[key] for line in doc["lines"]) == doc["totals"][key]


def test_cli_export(
    database: Database, ledger: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "get_database", lambda: database)
    parser = argparse.ArgumentParser(prog="dualsign")
    cli.add_parser(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> int:
        args = parser.parse_args(["claims", "export", *argv])
        code: int = args.func(args)
        return code

    out = tmp_path / "apr.json"
    assert run("--site", "C001", "--from", "2026-04-01", "--to", "2026-04-02", "--format", "json",
               "--out", str(out)) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["totals"]["amount_fen"] == 3500
    assert run("--site", "C001", "--from", "2026-04-01", "--to", "2026-04-01") == 0
    assert len(list(csv.DictReader(io.StringIO(capsys.readouterr().out)))) == 2
    assert run("--site", "NOPE", "--from", "2026-04-01", "--to", "2026-04-01") == 2
    assert "no site with code 'NOPE'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run("--site", "C001", "--from", "1 April", "--to", "2026-04-01")
