"""The shipped classifiers are used only when their files match card.json; otherwise a documented stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dualsign.analyzers.ct_nodule import classify
from dualsign.analyzers.ct_nodule.lesions import Lesion
from dualsign.analyzers.ct_nodule.model_card import model_card
from dualsign.analyzers.ct_nodule.segment import Segmentation


@pytest.fixture
def fresh_sessions() -> Iterator[None]:
    classify._session.cache_clear()
    classify._lesion_session.cache_clear()
    yield
    classify._session.cache_clear()
    classify._lesion_session.cache_clear()


def _lesions() -> list[Lesion]:
    round_one = Segmentation(True, np.zeros(3), volume_mm3=268.0, long_axis_mm=8.0, short_axis_mm=8.0, mean_hu=-50.0,
                             max_hu=60.0, core_hu=20.0, lung_hu=-860.0, solid_fraction=0.9, elongation=1.1,
                             fill_ratio=0.9, extent_mm=8.0)
    return [Lesion(round_one, 0.9)]


def test_the_shipped_lesion_classifier_is_verified_and_sets_the_confidence(fresh_sessions: None) -> None:
    assert classify.lesion_source() == "learned"
    lesions = _lesions()
    classify.score_lesions(lesions)
    assert 0.0 < lesions[0].probability < 1.0
    assert lesions[0].probability != lesions[0].candidate_probability
    assert "Lesion classifier:" in model_card().training_data  # the card names both learned parts


def test_a_lesion_model_file_that_does_not_match_its_card_is_not_used(
        fresh_sessions: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tmp_path / "lesions.onnx"
    tampered.write_bytes(classify.LESION_MODEL_FILE.read_bytes() + b"\0")
    monkeypatch.setattr(classify, "LESION_MODEL_FILE", tampered)
    assert classify.lesion_source() == "candidate"
    lesions = _lesions()
    classify.score_lesions(lesions)
    assert lesions[0].probability == lesions[0].candidate_probability
    assert "Lesion classifier:" not in model_card().training_data
