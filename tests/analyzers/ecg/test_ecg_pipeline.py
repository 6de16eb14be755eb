"""ECG analyzer against real records in tests/data/ecg (see ATTRIBUTION.md there)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import wfdb

from dualsign.analyzers.base import AnalyzerError, Urgency
from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

DATA = Path(__file__).resolve().parents[2] / "data" / "ecg"
BEATS = set("NLRBAaJSVrFejnE/fQ?")


@pytest.fixture(scope="module")
def analyzer() -> ECGAnalyzer:
    return ECGAnalyzer()


def test_detected_beats_match_reference_annotation() -> None:
    rec = read_ecg(DATA / "mitdb106_150s_60s")
    ann = wfdb.rdann(str(DATA / "mitdb106_150s_60s"), "atr")
    ref = np.array([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEATS])
    det = detect_qrs(rec.signal, rec.fs)
    tol = int(0.15 * rec.fs)
    dist = np.abs(det[:, None] - ref[None, :])
    tp = int(np.sum(dist.min(axis=0) <= tol))
    fp = int(np.sum(dist.min(axis=1) > tol))
    assert tp / ref.size >= 0.99
    assert fp <= 1  # one false detection allowed in this 65-beat excerpt


def test_vt_run_is_critical(analyzer: ECGAnalyzer) -> None:
    res = analyzer.analyze([DATA / "mitdb106_150s_60s"])
    labels = [e["label"] for e in res.raw["rhythm"]]
    assert "VT" in labels
    assert res.urgency is Urgency.CRITICAL
    vt = [f for f in res.findings if f.code == "SCT:164895002"]
    assert vt and vt[0].critical and "start_s" in vt[0].location
    assert res.raw["beat_counts"]["V"] > 5


def test_12lead_rbbb_bradycardia_matches_label(analyzer: ECGAnalyzer) -> None:
    # E07509 is labelled 59118001 (RBBB) and 426177001 (sinus bradycardia) in CinC 2021.
    res = analyzer.analyze([DATA / "E07509.hea"])
    raw = res.raw
    assert raw["quality"]["usable"] is True
    m = raw["measurements"]
    assert 40 <= m["hr_bpm"] < 60
    assert 120 <= m["qrs_ms"] <= 180
    assert 120 <= m["pr_ms"] <= 240
    assert 340 <= m["qt_ms"] <= 520
    assert m["qtc_bazett_ms"] < m["qt_ms"]  # slow rate: QTc shorter than QT
    assert set(m["st_j60_mv"]) == set(raw["leads"])
    codes = {s["code"] for s in raw["statements"]}
    assert {"59118001", "426177001"} <= codes
    assert all({"code", "text", "criteria", "abnormal"} <= set(s) for s in raw["statements"])
    assert res.report["disclaimer"].startswith("AI preliminary report")
    assert {f.code for f in res.findings} >= {"SCT:59118001", "SCT:426177001"}



def test_rbbb_axis_is_read_from_the_initial_forces(analyzer: ECGAnalyzer) -> None:
    """E07509 (RBBB, QRS 150 ms) carries no axis label. Over the whole QRS its slow terminal S in lead I swings the
    net area past +90 deg; without the last 80 ms the axis is normal, and no right axis deviation is stated."""
    raw = analyzer.analyze([DATA / "E07509.hea"]).raw
    m = raw["measurements"]
    codes = {s["code"] for s in raw["statements"]}
    assert "59118001" in codes
    assert m["qrs_axis_deg"] > 90
    assert -30 <= m["qrs_axis_initial_deg"] <= 90
    assert "47665007" not in codes and "39732003" not in codes
    narrow = analyzer.analyze([DATA / "HR06004"]).raw["measurements"]
    assert narrow["qrs_ms"] < 120 and narrow["qrs_axis_initial_deg"] is None

def test_normal_12lead_is_sinus(analyzer: ECGAnalyzer) -> None:
    raw = analyzer.analyze([DATA / "HR06004"]).raw  # labelled sinus rhythm only
    assert [e["label"] for e in raw["rhythm"]] == ["SINUS"]
    assert "426783006" in {s["code"] for s in raw["statements"]}
    assert raw["urgency"] == "routine"
    beat = raw["beats"][3]
    assert beat["p_on"] < beat["p_off"] < beat["qrs_on"] < beat["sample"] < beat["qrs_off"] < beat["t_off"]


def test_af_record_yields_af(analyzer: ECGAnalyzer) -> None:
    raw = analyzer.analyze([DATA / "A00027"]).raw  # CinC 2017 label A
    assert any(e["label"] == "AF" for e in raw["rhythm"])
    assert "164889003" in {s["code"] for s in raw["statements"]}


def test_flat_ecg_is_rejected_with_reason(analyzer: ECGAnalyzer, tmp_path: Path) -> None:
    p = tmp_path / "flat.csv"
    rows = "\n".join("0.0,0.0" for _ in range(5000))
    p.write_text(f"# fs=500\nI,II\n{rows}\n")
    res = analyzer.analyze([p])
    assert res.quality.usable is False
    assert any("flat" in r or "heartbeats" in r for r in res.quality.reasons)
    assert res.raw["statements"] == []
    assert not any(f.kind == "statement" for f in res.findings)


# ------------------------------------------------------------------------------------------- bad input
def _copy(tmp_path: Path, name: str) -> Path:
    for ext in (".hea", ".mat", ".dat", ".atr"):
        if (DATA / f"{name}{ext}").exists():
            shutil.copy(DATA / f"{name}{ext}", tmp_path / f"{name}{ext}")
    return tmp_path / name


def test_truncated_dat(tmp_path: Path) -> None:
    base = _copy(tmp_path, "mitdb106_150s_60s")
    dat = base.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:5000])
    with pytest.raises(AnalyzerError, match="truncated"):
        read_ecg(base)


def test_header_sample_count_mismatch(tmp_path: Path) -> None:
    base = _copy(tmp_path, "E07509")
    hea = base.with_suffix(".hea")
    lines = hea.read_text().splitlines()
    lines[0] = lines[0].replace(" 5000", " 4000")
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(AnalyzerError, match="sample count"):
        read_ecg(base)


def test_wrong_sampling_rate_field(tmp_path: Path) -> None:
    base = _copy(tmp_path, "E07509")
    hea = base.with_suffix(".hea")
    lines = hea.read_text().splitlines()
    lines[0] = lines[0].replace(" 500 ", " 5 ")
    hea.write_text("\n".join(lines) + "\n")
    with pytest.raises(AnalyzerError, match="sampling rate"):
        read_ecg(base)


def test_unknown_lead_name(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("# fs=250\nI,SpO2\n" + "\n".join("0.1,0.2" for _ in range(2000)) + "\n")
    with pytest.raises(AnalyzerError, match="unknown lead"):
        read_ecg(p)


def test_nan_and_zero_length(tmp_path: Path) -> None:
    p = tmp_path / "nan.csv"
    p.write_text("# fs=250\nII\n" + "\n".join("0.1" for _ in range(2000)) + "\nnan\n")
    with pytest.raises(AnalyzerError, match="NaN"):
        read_ecg(p)
    z = tmp_path / "zero.csv"
    z.write_text("# fs=250\nII\n")
    with pytest.raises(AnalyzerError, match="zero-length"):
        read_ecg(z)
    with pytest.raises(AnalyzerError, match="sampling rate not stated"):
        nofs = tmp_path / "nofs.csv"
        nofs.write_text("II\n" + "\n".join("0.1" for _ in range(2000)) + "\n")
        read_ecg(nofs)


# ---------------------------------------------------------------------------------------------- CLI
def test_cli_two_paths_in_order(tmp_path: Path) -> None:
    bad = tmp_path / "missing"
    exe = [sys.executable, "-c", "import sys; from dualsign.cli import main; sys.exit(main())"]
    out = subprocess.run(
        [*exe, "analyze", str(DATA / "HR06004"), str(bad), str(DATA / "A00027"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0]["path"].endswith("HR06004") and lines[0]["quality"]["usable"]
    assert lines[1]["path"] == str(bad) and "error" in lines[1]
    assert lines[2]["path"].endswith("A00027")
