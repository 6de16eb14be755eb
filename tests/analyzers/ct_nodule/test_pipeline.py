"""The analyzer end to end on synthetic chest-CT phantoms with a nodule of known size and position."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dualsign.analyzers.base import Analyzer, ExamContext, Urgency
from dualsign.analyzers.ct_nodule import CTNoduleAnalyzer
from dualsign.analyzers.ct_nodule import analyzer as analyzer_module
from dualsign.analyzers.ct_nodule.read import read_ct
from tests.analyzers.ct_nodule.phantom import PIXEL_MM, phantom, write_series

DZ = 1.25


@pytest.fixture(scope="module")
def analyzer() -> CTNoduleAnalyzer:
    return CTNoduleAnalyzer()


@pytest.fixture(scope="module")
def exam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    hu, truth = phantom(n_slices=96, dz=DZ, nodule_mm=10.0)
    folder = tmp_path_factory.mktemp("ct")
    write_series(folder, hu, DZ, study_date="20250101")
    return folder, truth


def _nodule_near(raw: dict, lps: np.ndarray, tol: float) -> dict | None:
    for f in raw["findings"]:
        if np.linalg.norm(np.array(f["center_mm"]) - lps) <= tol:
            return f
    return None


def test_protocol_and_intake(analyzer: CTNoduleAnalyzer, exam: tuple[Path, dict]) -> None:
    folder, _ = exam
    assert isinstance(analyzer, Analyzer)
    assert analyzer.modality == "chest_ct"
    assert analyzer.can_read(next(folder.iterdir()))
    assert analyzer.can_read(folder)
    assert len(analyzer.card.weights_sha256) == 64


def test_nodule_found_measured_and_marked(analyzer: CTNoduleAnalyzer, exam: tuple[Path, dict]) -> None:
    folder, truth = exam
    result = analyzer.analyze(sorted(folder.iterdir()))
    raw = result.raw
    vol = read_ct([folder])
    lps = vol.index_to_lps(truth["nodule_index"])
    f = _nodule_near(raw, lps, 3.0)
    assert f is not None, raw["findings"]
    assert f["kind"] == "nodule"
    assert f["density"] == "solid"
    assert abs(f["diameter_mm"] - 10.0) <= 1.5
    true_volume = math.pi / 6 * 10.0**3
    assert abs(f["volume_mm3"] - true_volume) / true_volume <= 0.2
    assert f["lung"] == "right"
    assert 0.0 <= f["confidence"] <= 1.0
    assert raw["quality"]["usable"] and raw["quality"]["meets_screening_standard"], raw["quality"]
    assert raw["quality"]["slice_thickness_mm"] == pytest.approx(DZ)
    # a 10 mm solid nodule alone: Lung-RADS 4A (8-15 mm)
    assert raw["lung_rads"]["category"] == "4A"
    assert result.urgency == Urgency.ROUTINE
    png = result.attachments[f["key_image"]]
    img = Image.open(io.BytesIO(png))
    assert img.size == (vol.shape[2], vol.shape[1])
    marked = next(x for x in result.findings if x.location.get("key_image") == f["key_image"])
    assert marked.measurements["long_axis_mm"] == f["long_axis_mm"]
    # lung volumes near the phantom's (the right lung holds the nodule)
    for side, ml in zip(("right", "left"), truth["lung_ml"], strict=True):
        assert abs(raw["lungs"]["volumes_ml"][side] - ml) / ml < 0.1


def test_thick_slices_do_not_meet_screening_standard(analyzer: CTNoduleAnalyzer, tmp_path: Path) -> None:
    hu, _ = phantom(n_slices=24, dz=5.0, nodule_mm=None)
    write_series(tmp_path, hu, 5.0)
    result = analyzer.analyze([tmp_path])
    assert result.quality.usable
    assert result.raw["quality"]["meets_screening_standard"] is False
    assert any("too thick" in r for r in result.quality.reasons)
    assert result.report["quality"]["statement"] == "does not meet screening standards"


def test_no_lungs_is_a_quality_failure(analyzer: CTNoduleAnalyzer, tmp_path: Path) -> None:
    hu = np.full((20, 64, 64), 40, np.int16)  # soft tissue only, e.g. a thigh
    write_series(tmp_path, hu, 2.0)
    result = analyzer.analyze([tmp_path])
    assert not result.quality.usable
    assert any("no lungs" in r for r in result.quality.reasons)
    assert result.raw["findings"] == []


def test_follow_up_reports_growth_and_doubling_time(analyzer: CTNoduleAnalyzer, exam: tuple[Path, dict],
                                                      tmp_path: Path) -> None:
    folder, truth = exam
    prior = analyzer.analyze([folder]).raw
    hu, _ = phantom(n_slices=96, dz=DZ, nodule_mm=13.0, seed=1)
    write_series(tmp_path, hu, DZ, study_date="20250701")  # 181 days later
    result = analyzer.analyze([tmp_path], ExamContext(prior_raw=prior))
    vol = read_ct([tmp_path])
    f = _nodule_near(result.raw, vol.index_to_lps(truth["nodule_index"]), 3.0)
    assert f is not None
    fu = f["follow_up"]
    assert fu["status"] == "growing"
    assert fu["diameter_change_mm"] == pytest.approx(3.0, abs=1.5)
    expected_vdt = 181 * math.log(2) / math.log((13.0 / 10.0) ** 3)  # 159 days
    assert fu["volume_doubling_time_days"] == pytest.approx(expected_vdt, rel=0.35)
    assert result.raw["follow_up"]["interval_days"] == 181
    # growing solid nodule >= 8 mm: Lung-RADS 4B, urgent
    assert result.raw["lung_rads"]["category"] == "4B"
    assert result.urgency == Urgency.URGENT


def test_cli_prints_one_json_line_per_path(exam: tuple[Path, dict], tmp_path: Path) -> None:
    folder, _ = exam
    bad = tmp_path / "bad"
    bad.mkdir()
    write_series(bad, np.zeros((1, 32, 32), np.int16), 2.0)
    out = subprocess.run([sys.executable, "-m", "dualsign.cli", "analyze", str(folder), str(bad), "--json",
                          "--modality", "chest_ct"], capture_output=True, text=True, timeout=300)
    lines = [json.loads(s) for s in out.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["modality"] == "chest_ct" and "lung_rads" in lines[0]
    assert "single" in lines[1]["error"]
    _ = PIXEL_MM


def test_findings_left_off_the_list_are_counted_and_said(exam: tuple[Path, dict],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is dropped silently: with the list capped below what was found, the exam says how many are missing."""
    folder, _ = exam
    files = sorted(folder.iterdir())
    full = CTNoduleAnalyzer().analyze(files).raw
    n = len(full["findings"])
    assert n >= 1 and full["listing"]["not_listed"] == 0
    assert not any("not listed" in w for w in full["quality"]["warnings"])
    monkeypatch.setattr(analyzer_module, "MAX_REPORTED", n - 1)
    capped = CTNoduleAnalyzer().analyze(files)
    assert len(capped.raw["findings"]) == n - 1
    assert capped.raw["listing"] == {"listed_at_most": n - 1, "not_listed": 1, "candidates_not_outlined": 0}
    warning = next(w for w in capped.raw["quality"]["warnings"] if "not listed" in w)
    assert "1 more findings" in warning and warning in capped.quality.details["warnings"]
    assert "list incomplete" in capped.summary and capped.report["listing"]["not_listed"] == 1
