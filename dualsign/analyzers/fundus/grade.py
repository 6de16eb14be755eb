"""Lesion evidence -> referable-DR probability (logistic regression, calibrated out of fold) -> ICDR grade.

The decision model is a handful of numbers in weights/card.json, fitted by benchmarks/fundus_cv.py on
out-of-fold segmenter maps, so it sees evidence as strong or as weak as the shipped segmenter gives on
photos it has never seen. Its only inputs are the areas the segmenter marks as lesions: no lesion marked, no
referral on DR grounds, whatever the photo's exposure or texture.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from dualsign.analyzers.fundus.segment import CHANNELS, LESION_TYPES

FEATURE_NAMES = tuple(f"log_area_{c}" for c in LESION_TYPES)
EVIDENCE_THRESHOLD = 0.5
SEVERE_HAEMORRHAGES_PER_QUADRANT = 5  # canvas-level stand-in for ICDR's ">20 per quadrant" (4-2-1 rule)


def features(probs: np.ndarray, field: np.ndarray) -> np.ndarray:
    """Per lesion type: log(1 + marked area inside the field, canvas px)."""
    areas = [
        np.log1p(float(np.count_nonzero(probs[CHANNELS.index(code)][field] >= EVIDENCE_THRESHOLD)))
        for code in LESION_TYPES
    ]
    return np.array(areas, dtype=np.float64)


@dataclass(frozen=True)
class DecisionModel:
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float  # the screening operating point on the referable probability

    def probability(self, x: np.ndarray) -> float:
        z = float(np.dot((x - self.mean) / self.scale, self.coef) + self.intercept)
        return float(1.0 / (1.0 + np.exp(-z)))

    @classmethod
    def from_card(cls, entry: dict[str, Any]) -> DecisionModel:
        if tuple(entry["features"]) != FEATURE_NAMES:
            raise ValueError("decision model features do not match this code")
        return cls(
            np.asarray(entry["mean"], float),
            np.asarray(entry["scale"], float),
            np.asarray(entry["coef"], float),
            float(entry["intercept"]),
            float(entry["threshold"]),
        )


def severe_haemorrhage_quadrants(probs: np.ndarray, field: np.ndarray) -> int:
    """Quadrants (about the photo centre) holding at least SEVERE_HAEMORRHAGES_PER_QUADRANT haemorrhages."""
    labels, n = ndimage.label((probs[CHANNELS.index("HE")] >= EVIDENCE_THRESHOLD) & field)
    if n == 0:
        return 0
    centres = np.array(ndimage.center_of_mass(np.ones_like(labels), labels, np.arange(1, n + 1)))
    c = (field.shape[0] - 1) / 2
    quadrant = (centres[:, 0] > c).astype(int) * 2 + (centres[:, 1] > c).astype(int)
    counts = np.bincount(quadrant, minlength=4)
    return int(np.count_nonzero(counts >= SEVERE_HAEMORRHAGES_PER_QUADRANT))


def icdr_grade(
    p_referable: float, threshold: float, lesion_types_found: set[str], severe_quadrants: int
) -> tuple[int, dict[str, float]]:
    """ICDR grade and per-grade probabilities.

    The grade follows the calibrated decision: >= 2 exactly when the referable probability (DR part) reaches the
    operating point. Below it, 1 when any lesion is marked (microaneurysm-level evidence), else 0. Above it,
    3 when haemorrhages crowd all four quadrants. Grade 4 signs (new vessels, preretinal bleeding) are not
    detected: P(4) is 0 and grade 4 is never given. Only the split at 2 is validated (binary labels).
    """
    p = float(np.clip(p_referable, 0.0, 1.0))
    q1 = 1.0 if lesion_types_found else 0.0
    q3 = 1.0 if severe_quadrants >= 4 else (0.25 if severe_quadrants >= 2 else 0.0)
    probs = {"0": (1 - p) * (1 - q1), "1": (1 - p) * q1, "2": p * (1 - q3), "3": p * q3, "4": 0.0}
    referable_grade = 3 if severe_quadrants >= 4 else 2
    grade = referable_grade if p >= threshold else (1 if lesion_types_found else 0)
    return grade, {k: round(v, 4) for k, v in probs.items()}
