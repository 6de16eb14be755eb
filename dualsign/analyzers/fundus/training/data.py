"""The development set on the canonical canvas: model inputs, lesion and disc masks, labels, folds.

Masks go through exactly the resampling the photo does, so pixels stay aligned.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from dualsign.analyzers.fundus.lesions import landmarks
from dualsign.analyzers.fundus.normalise import Canonical, normalise, to_canvas
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
    fovea: np.ndarray  # (N, 2) float canvas (u, v); the canvas centre where the fovea could not be placed


def fovea_position(can: Canonical, disc_mask: np.ndarray | None) -> tuple[float, float]:
    """Where the fovea lies on a development photo, by the analyzer's own landmark rule; the disc comes from the
    expert disc mask where there is one, else from brightness alone (no model is involved). Macula-centred
    photos (all of this set) fall back to the canvas centre."""
    probs = np.zeros((len(CHANNELS), *can.field.shape), np.float32)
    probs[CHANNELS.index("OD")] = can.field if disc_mask is None else disc_mask
    fovea = landmarks(probs, can).fovea_uv
    centre = (can.field.shape[0] - 1) / 2
    return fovea if fovea is not None else (centre, centre)


def load(data_dir: Path = DATA_DIR) -> DevSet:
    rows = list(csv.DictReader((data_dir / "labels.csv").open()))
    ids, ref, xs, ys, has_od, fields, rgbs, foveas = [], [], [], [], [], [], [], []
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
        foveas.append(fovea_position(can, planes[CHANNELS.index("OD")] if has_od[-1] else None))
        fields.append(can.field)
        rgbs.append(can.rgb)
    return DevSet(ids, np.array(ref), np.stack(xs), np.stack(ys), np.array(has_od), np.stack(fields), np.stack(rgbs),
                  np.array(foveas, np.float64))


def folds(referable: np.ndarray, n_folds: int = N_FOLDS, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold index per image, stratified by class, seeded. One photo per eye here, so image = patient unit."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(referable.size, int)
    for cls in (False, True):
        idx = np.flatnonzero(referable == cls)
        rng.shuffle(idx)
        fold[idx] = np.arange(idx.size) % n_folds
    return fold
