"""Paths of the sample photos shipped in the package (IDRiD, CC BY 4.0; see their ATTRIBUTION.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parents[3] / "dualsign" / "demo" / "samples" / "fundus"
NO_DR = SAMPLES / "idrid_nar_002.jpg"
REFERABLE = SAMPLES / "idrid_46.jpg"
MACULAR_EXUDATES = SAMPLES / "idrid_13.jpg"


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def load_mask(name: str) -> np.ndarray:
    return np.asarray(Image.open(SAMPLES / name).convert("L")) > 127
