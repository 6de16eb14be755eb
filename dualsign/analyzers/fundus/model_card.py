"""The analyzer's ModelCard fields from weights/card.json (written by benchmarks/fundus_cv.py), never typed in.

`weights_sha256` pins the ONNX segmenter; the decision model's numbers live in card.json itself. The learned
path runs only when the segmenter file matches the hash card.json recorded for it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).with_name("weights")
CARD_FILE = WEIGHTS_DIR / "card.json"
SEGMENTER = "segmenter.onnx"


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def load_card(path: Path | None = None) -> dict[str, Any] | None:
    try:
        data = json.loads((path or CARD_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def verified(card: dict[str, Any] | None, weights_dir: Path | None = None) -> bool:
    if card is None:
        return False
    actual = file_sha256((weights_dir or WEIGHTS_DIR) / SEGMENTER)
    return actual is not None and card.get("weights_sha256", {}).get(SEGMENTER) == actual


def accuracy(card: dict[str, Any]) -> dict[str, Any]:
    cv = card.get("cross_validation", {})
    return {
        "source": "dualsign/analyzers/fundus/weights/card.json",
        "protocol": cv.get("protocol"),
        "referable": cv.get("referable"),
        "lesion_detection_per_image": cv.get("lesion_detection_per_image"),
        "gradable_rate": cv.get("gradable_rate"),
        "shortcut_check": cv.get("shortcut_check"),
        "command": cv.get("command"),
    }


def training_data(card: dict[str, Any]) -> str:
    return str(card.get("training_data", ""))
