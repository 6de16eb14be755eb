"""Candidate classifier: nodule probability from the candidate's features.

The shipped model (weights/candidates.onnx, reproduced by training/train_candidates.py) is a gradient-boosted
tree ensemble followed by a logistic calibration fitted on held-out simulated data (card.json `calibration`).
Any detector that yields `Candidate`s with the same feature vector, or a learned detector that yields its own
calibrated probabilities, can replace this stage behind `score_candidates`.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.detect import FEATURES, Candidate
from dualsign.analyzers.ct_nodule.lesions import LESION_FEATURES, Lesion, lesion_features
from dualsign.analyzers.ct_nodule.segment import Segmentation

WEIGHTS_DIR = Path(__file__).with_name("weights")
MODEL_FILE = WEIGHTS_DIR / "candidates.onnx"
LESION_MODEL_FILE = WEIGHTS_DIR / "lesions.onnx"
CARD_FILE = WEIGHTS_DIR / "card.json"


def load_card() -> dict[str, Any] | None:
    try:
        data = json.loads(CARD_FILE.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def weights_sha256() -> str | None:
    try:
        return hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
    except OSError:
        return None


@cache
def _session() -> tuple[Any, float, float] | None:
    """The ONNX session and calibration when the model file matches card.json; otherwise None (rules)."""
    card = load_card()
    sha = weights_sha256()
    if card is None or sha is None or card.get("weights_sha256", {}).get(MODEL_FILE.name) != sha:
        return None
    if list(card.get("features", [])) != list(FEATURES):
        return None
    cal = card.get("calibration", {})
    return _onnx(MODEL_FILE), float(cal.get("a", 1.0)), float(cal.get("b", 0.0))


def _onnx(path: Path) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@cache
def _lesion_session() -> tuple[Any, float, float] | None:
    """The lesion classifier's session and calibration when its file matches card.json; otherwise None."""
    card = load_card()
    entry = card.get("lesion_classifier") if card else None
    if not isinstance(entry, dict) or list(entry.get("features", [])) != list(LESION_FEATURES):
        return None
    try:
        sha = hashlib.sha256(LESION_MODEL_FILE.read_bytes()).hexdigest()
    except OSError:
        return None
    if entry.get("weights_sha256") != sha:
        return None
    cal = entry.get("calibration", {})
    return _onnx(LESION_MODEL_FILE), float(cal.get("a", 1.0)), float(cal.get("b", 0.0))


def source() -> str:
    return "learned" if _session() is not None else "rules"


def lesion_source() -> str:
    """How outlined lesions get their confidence: the lesion classifier, or their likeliest candidate's."""
    return "learned" if _session() is not None and _lesion_session() is not None else "candidate"


def _calibrated(sess: Any, a: float, b: float, x: np.ndarray) -> np.ndarray:
    outputs = sess.run(None, {sess.get_inputs()[0].name: x.astype(np.float32)})
    probs = outputs[1]
    p = np.array([row[1] for row in probs], float) if isinstance(probs, list) else np.asarray(probs)[:, 1]
    logit = np.log(np.clip(p, 1e-6, 1 - 1e-6) / np.clip(1 - p, 1e-6, 1))
    out: np.ndarray = 1.0 / (1.0 + np.exp(-(a * logit + b)))
    return out


def score_lesions(lesions: list[Lesion]) -> None:
    """Set each lesion's `probability`: outlined lesions from the lesion classifier (trained on the candidate
    classifier's confidences, so only with both models verified), else their likeliest candidate's; a mass-stage
    lesion keeps its rule score."""
    for les in lesions:
        les.probability = les.candidate_probability
    outlined = [les for les in lesions if isinstance(les.shape, Segmentation)]
    loaded = _lesion_session() if _session() is not None else None
    if not outlined or loaded is None:
        return
    for les, p in zip(outlined, _calibrated(*loaded, np.stack([lesion_features(les) for les in outlined])),
                      strict=True):
        les.probability = float(p)


def _rule_score(x: np.ndarray) -> np.ndarray:
    """Stand-in when no verified weights: round, compact, contrasted blobs score high, tubes low."""
    i = {n: k for k, n in enumerate(FEATURES)}
    z = (
        4.0 * x[:, i["blob_ratio"]]
        - 3.0 * x[:, i["shell_fill"]]
        + 2.0 * x[:, i["inner_fill"]]
        + 0.004 * np.minimum(x[:, i["contrast"]], 600.0)
        - 4.0
    )
    return 1.0 / (1.0 + np.exp(-z))


def score_candidates(cands: list[Candidate]) -> np.ndarray:
    if not cands:
        return np.zeros(0)
    x = np.stack([c.features for c in cands]).astype(np.float32)
    loaded = _session()
    if loaded is None:
        return _rule_score(x)
    return _calibrated(*loaded, x)
