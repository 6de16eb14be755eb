"""The analyzer's ModelCard fields from weights/card.json (written by the training scripts), never typed in.

`weights_sha256` is the sha256 over the sorted "name:sha256" lines of the shipped weight files, so one
64-hex value pins every file; the learned models are used only when each file matches its card.json hash.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).with_name("weights")
CARD_FILE = WEIGHTS_DIR / "card.json"
EXPECTED = ("beats_morph.onnx", "beats_rr.onnx", "rhythm.onnx", "rhythm_cnn.onnx")


def combined_sha256(per_file: dict[str, str]) -> str:
    """One sha256 over sorted per-file hashes; with no files, the sha256 of the empty string."""
    lines = "".join(f"{name}:{sha}\n" for name, sha in sorted(per_file.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def file_hashes(weights_dir: Path | None = None) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((weights_dir or WEIGHTS_DIR).glob("*.onnx"))
        if p.name in EXPECTED
    }


def load_card(path: Path | None = None) -> dict[str, Any] | None:
    try:
        data = json.loads((path or CARD_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verified(card: dict[str, Any] | None, actual: dict[str, str]) -> bool:
    """True when every expected weight file is present and matches the hash card.json recorded for it."""
    if card is None:
        return False
    want = card.get("weights_sha256") or {}
    return all(name in actual and want.get(name) == actual[name] for name in EXPECTED)


def _pc(stats: dict[str, Any], classes: str) -> dict[str, Any]:
    out = {}
    for c in classes:
        v = stats.get(c) or {}
        out[c] = {
            "n": v.get("n"),
            "se": None if v.get("se") is None else round(float(v["se"]), 4),
            "ppv": None if v.get("ppv") is None else round(float(v["ppv"]), 4),
        }
    return out


def accuracy(card: dict[str, Any]) -> dict[str, Any]:
    """The measured (held-out) figures of card.json, in the shape the ModelCard carries."""
    out: dict[str, Any] = {"source": "dualsign/analyzers/ecg/weights/card.json"}
    beats = card.get("beats") or {}
    if beats:
        nonpaced = beats.get("loo_signal_records_without_paced_104", {}).get("det", {}).get("per_class", {})
        paced = beats.get("loo_signal_records", {}).get("det", {}).get("per_class", {})
        out["beats"] = {
            "protocol": beats.get("protocol"),
            "loo_detected_beats_without_paced": _pc(nonpaced, "NSVF"),
            "paced_q": _pc(paced, "Q")["Q"],
            "command": beats.get("command"),
        }
    rhythm = card.get("rhythm") or {}
    if rhythm:
        # The analyzer runs the feature model averaged with the CNN: the combined out-of-fold figures are its own.
        combined = (card.get("rhythm_cnn") or {}).get("cv_combined") or {}
        src = combined or rhythm
        cv = src.get("cv_mean_over_folds", {})
        cal = src.get("calibration_p_af", {})
        out["rhythm"] = {
            "protocol": (card.get("rhythm_cnn") or rhythm).get("protocol"),
            "models": "feature model + CNN, probabilities averaged 0.5/0.5" if combined else "feature model",
            "cinc2017_score_mean_f1_NAO": round(float(cv.get("score_mean_f1_NAO", float("nan"))), 4),
            "f1": {c: round(float(cv[c]), 4) for c in "NAO~" if c in cv},
            "p_af_brier": None if "brier" not in cal else round(float(cal["brier"]), 4),
            "p_af_ece": None if "ece" not in cal else round(float(cal["ece"]), 4),
            "command": (card.get("rhythm_cnn") or rhythm).get("command"),
        }
    out.update(delineation(card))
    return out


def delineation(card: dict[str, Any] | None) -> dict[str, Any]:
    """Wave-boundary figures against the QT Database cardiologists. The delineator is rule-based, so they hold
    whether or not the learned weights verify; {} when card.json has none."""
    if not card or "delineation" not in card:
        return {}
    section = dict(card["delineation"])
    agreement = card.get("delineation_reference_agreement")
    if agreement:
        section["reference_agreement"] = agreement
    return {"delineation": section}


def training_data(card: dict[str, Any]) -> str:
    beats = card.get("beats", {}).get("models", {})
    morph = beats.get("beats_morph.onnx", {}).get("trained_on", [])
    rr = beats.get("beats_rr.onnx", {}).get("trained_on", [])
    rhythm = card.get("rhythm", {}).get("training_data", "")
    cnn = " (feature model and a CNN on the raw lead, both)" if card.get("rhythm_cnn") else ""
    return (
        f"Beat morphology model: MIT-BIH records {', '.join(morph)}; beat RR model: reference beat times of "
        f"{len(rr)} MIT-BIH records; rhythm model{cnn}: {rhythm}. Signal processing (QRS detection, delineation, "
        "measurements, statements) is rule-based, tuned on MIT-BIH 104/106/108/116/119/223 and 55 QT Database "
        "records."
    )
