"""The development set on the canonical canvas: model inputs, lesion and disc masks, labels, folds.

Masks go through exactly the resampling the photo does, so pixels stay aligned.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dualsign.analyzers.fundus.normalise import normalise, to_canvas
from dualsign.analyzers.fundus.segment import CHANNELS

DATA_DIR = Path("/work/shared/data/fundus")
FOLD_SEED = 20261123
N_FOLDS = 5
MASK_LEVEL = 40  # of 255 after bilinear resampling: keeps one-pixel microaneurysms


@dataclass
class DevSet:
    ids: list[str]
    referable: np.ndarray  # (N,) bool
    x: np.ndarray  # (N, 3, S, S) float32
    y: np.ndarray  # (N, C, S, S) uint8 {0,1}
    has_od: np.ndarray  # (N,) bool: the disc mask exists (lesion images only)
    field: np.ndarray  # (N, S, S) bool
    rgb: np.ndarray  # (N, S, S, 3) uint8


def load(data_dir: Path = DATA_DIR) -> DevSet:
    rows = list(csv.DictReader((data_dir / "labels.csv").open()))
    ids, ref, xs, ys, has_od, fields, rgbs = [], [], [], [], [], [], []
    for row in rows:
        image_id = Path(row["image"]).stem
        rgb = np.asarray(Image.open(data_dir / row["image"]).convert("RGB"))
        can = normalise(rgb)
        planes = []
        for name in CHANNELS:
            mask_path = data_dir / "masks" / f"{image_id}_{name}.png"
            if mask_path.exists():
                m = np.asarray(Image.open(mask_path).convert("L"))
                planes.append((to_canvas(m, can.ellipse) > MASK_LEVEL) & can.field)
            else:
                planes.append(np.zeros(can.field.shape, bool))
        ids.append(image_id)
        ref.append(row["referable"] == "yes")
        xs.append(can.contrast)
        ys.append(np.stack(planes).astype(np.uint8))
        has_od.append((data_dir / "masks" / f"{image_id}_OD.png").exists())
        fields.append(can.field)
        rgbs.append(can.rgb)
    return DevSet(ids, np.array(ref), np.stack(xs), np.stack(ys), np.array(has_od), np.stack(fields), np.stack(rgbs))


def folds(referable: np.ndarray, n_folds: int = N_FOLDS, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold index per image, stratified by class, seeded. One photo per eye here, so image = patient unit."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(referable.size, int)
    for cls in (False, True):
        idx = np.flatnonzero(referable == cls)
        rng.shuffle(idx)
        fold[idx] = np.arange(idx.size) % n_folds
    return fold
