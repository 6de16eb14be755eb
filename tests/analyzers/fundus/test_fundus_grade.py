"""Grading rules and the DME rule on hand-made evidence (no model involved)."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.fundus.grade import FEATURE_NAMES, DecisionModel, features, icdr_grade
from dualsign.analyzers.fundus.lesions import Landmarks, Lesion, dme_suspected


def test_grade_follows_the_referable_decision() -> None:
    grade, probs = icdr_grade(0.9, 0.2, {"haemorrhage", "hard_exudate"}, severe_quadrants=0)
    assert grade == 2
    assert abs(sum(probs.values()) - 1.0) < 1e-3
    assert probs["2"] + probs["3"] == 0.9


def test_below_the_operating_point_marks_make_grade_one_and_none_grade_zero() -> None:
    assert icdr_grade(0.05, 0.2, {"microaneurysm"}, 0)[0] == 1
    assert icdr_grade(0.05, 0.2, set(), 0)[0] == 0


def test_haemorrhages_in_all_four_quadrants_make_severe_npdr() -> None:
    grade, probs = icdr_grade(0.95, 0.2, {"haemorrhage"}, severe_quadrants=4)
    assert grade == 3 and probs["3"] > probs["2"]
    assert probs["4"] == 0.0  # new vessels are not detected: grade 4 is never claimed


def test_decision_model_is_a_logistic_function_of_standardised_evidence() -> None:
    model = DecisionModel(np.zeros(8), np.full(8, 2.0), np.ones(8), -1.0, 0.3)
    assert abs(model.probability(np.zeros(8)) - 1 / (1 + np.e)) < 1e-9
    assert model.probability(np.full(8, 2.0)) > model.probability(np.full(8, 1.0))


def test_decision_evidence_is_the_marked_lesion_area_and_nothing_else() -> None:
    field = np.ones((64, 64), bool)
    probs = np.zeros((5, 64, 64), np.float32)
    probs[:, :, :] = 0.45  # everything just below the marking threshold: no evidence at all
    assert not features(probs, field).any()
    probs[1, 10:14, 10:15] = 0.9  # a 20-pixel haemorrhage
    x = features(probs, field)
    assert x[FEATURE_NAMES.index("log_area_HE")] == np.log1p(20)
    assert np.count_nonzero(x) == 1
    field[10:12] = False  # marks outside the fundus field do not count
    assert features(probs, field)[FEATURE_NAMES.index("log_area_HE")] == np.log1p(10)


def _exudate(u: float, v: float) -> Lesion:
    return Lesion("hard_exudate", (0, 0, 1, 1), (u, v), 4, 10.0, 0.9)


def _red(kind: str, u: float, v: float) -> Lesion:
    return Lesion(kind, (0, 0, 1, 1), (u, v), 4, 10.0, 0.9)


def test_dme_needs_a_hard_exudate_within_one_disc_diameter_of_the_fovea() -> None:
    marks = Landmarks(disc_uv=(250.0, 160.0), disc_diameter_canvas=40.0, fovea_uv=(150.0, 165.0))
    haem = _red("haemorrhage", 40.0, 60.0)  # far from the macula: it only shows the eye has diabetic lesions
    near, dd = dme_suspected([_exudate(150 + 30, 165), haem], marks)
    assert near and dd == 0.75
    far, dd_far = dme_suspected([_exudate(150 + 60, 165), haem], marks)
    assert not far and dd_far == 1.5
    assert dme_suspected([_red("haemorrhage", 151.0, 165.0)], marks) == (False, None)


def test_exudates_at_the_macula_without_any_red_lesion_are_not_called_dme() -> None:
    marks = Landmarks(disc_uv=(250.0, 160.0), disc_diameter_canvas=40.0, fovea_uv=(150.0, 165.0))
    alone, dd = dme_suspected([_exudate(150 + 10, 165)], marks)
    assert not alone and dd == 0.25  # drusen-like dots: distance still reported, no DME call
    with_ma, _ = dme_suspected([_exudate(150 + 10, 165), _red("microaneurysm", 100.0, 120.0)], marks)
    assert with_ma
