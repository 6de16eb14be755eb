"""The ModelCard reads card.json (figures and weight hashes), and the rhythm model's "other" class is reported."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg import model_card as mc
from dualsign.analyzers.ecg.statements import Statement, rhythm_model_statement


def test_card_weights_sha256_pins_every_shipped_file() -> None:
    card = ECGAnalyzer().card
    assert re.fullmatch(r"[0-9a-f]{64}", card.weights_sha256)
    on_disk = json.loads(mc.CARD_FILE.read_text())["weights_sha256"]
    assert set(mc.EXPECTED) <= set(on_disk)
    assert card.weights_sha256 == mc.combined_sha256({k: on_disk[k] for k in mc.EXPECTED})
    assert card.weights_sha256 == mc.combined_sha256(mc.file_hashes())


def test_card_accuracy_is_copied_from_card_json() -> None:
    acc = ECGAnalyzer().card.accuracy
    data = json.loads(mc.CARD_FILE.read_text())
    # The analyzer averages the feature model with the CNN: the card carries the combined out-of-fold figure.
    score = data["rhythm_cnn"]["cv_combined"]["cv_mean_over_folds"]["score_mean_f1_NAO"]
    assert acc["rhythm"]["cinc2017_score_mean_f1_NAO"] == pytest.approx(score, abs=1e-4)
    v = data["beats"]["loo_signal_records_without_paced_104"]["det"]["per_class"]["V"]
    assert acc["beats"]["loo_detected_beats_without_paced"]["V"]["se"] == pytest.approx(v["se"], abs=1e-4)
    assert acc["beats"]["loo_detected_beats_without_paced"]["V"]["n"] == v["n"]
    # Wave boundaries: the measured SDs and whether each is inside its CSE tolerance, as the benchmark wrote them.
    for wave, fig in data["delineation"]["waves"].items():
        shown = acc["delineation"]["waves"][wave]
        assert shown["sd_ms"] == fig["sd_ms"]
        assert shown["inside_tolerance"] == (fig["sd_ms"] <= fig["cse_sd_tolerance_ms"])
    agreement = data["delineation_reference_agreement"]["annotator2_minus_annotator1"]
    assert acc["delineation"]["reference_agreement"]["annotator2_minus_annotator1"] == agreement


@pytest.mark.parametrize("name", ["rhythm.onnx", "rhythm_cnn.onnx"])
def test_tampered_weights_fall_back_to_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    for f in mc.WEIGHTS_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / name).write_bytes((tmp_path / name).read_bytes() + b"x")
    monkeypatch.setattr(mc, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(mc, "CARD_FILE", tmp_path / "card.json")
    an = ECGAnalyzer()
    assert an.card.weights_sha256 == mc.combined_sha256({})
    assert re.fullmatch(r"[0-9a-f]{64}", an.card.weights_sha256)
    assert "rule-based" in an.card.training_data.lower()
    # The delineator is rule-based: its figures stay on the card when the learned weights do not verify.
    assert an.card.accuracy["delineation"] == mc.delineation(mc.load_card())["delineation"]
    assert "rhythm" not in an.card.accuracy


def test_other_rhythm_probability_makes_an_abnormal_statement() -> None:
    sinus = Statement("sinus", "Sinus rhythm", {}, abnormal=False)
    s = rhythm_model_statement([{"N": 0.3, "A": 0.1, "O": 0.55, "~": 0.05}], [sinus])
    assert s is not None and s.abnormal and s.criteria["p_other_rhythm"] == 0.55
    assert rhythm_model_statement([{"N": 0.6, "A": 0.1, "O": 0.3, "~": 0.0}], [sinus]) is None
    # Already abnormal for another reason: nothing added.
    pvc = Statement("pvc", "Premature ventricular contractions", {})
    assert rhythm_model_statement([{"N": 0.1, "A": 0.0, "O": 0.9, "~": 0.0}], [sinus, pvc]) is None
    # Long record: one window of "other" is enough.
    wins = [{"N": 0.9, "A": 0.0, "O": 0.1, "~": 0.0}, {"N": 0.2, "A": 0.1, "O": 0.7, "~": 0.0}]
    s2 = rhythm_model_statement(wins, [sinus])
    assert s2 is not None and s2.location == {"window": 1}
