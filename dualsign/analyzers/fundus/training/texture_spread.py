"""Reproduce `normalise.TEXTURE_SPREAD`: the median over the development photos of each channel's texture spread.

    python -m dualsign.analyzers.fundus.training.texture_spread [--data ../shared/data/fundus]

Every photo in labels.csv is brought to the canonical view; its local contrast is taken without the texture step
and the per-channel spread inside the field measured. The constant is the per-channel median, rounded.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from dualsign.analyzers.fundus.normalise import TEXTURE_SPREAD, local_contrast, normalise, texture_spread
from dualsign.analyzers.fundus.training.data import DATA_DIR


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA_DIR)
    args = ap.parse_args()
    spreads = []
    for row in csv.DictReader((args.data / "labels.csv").open()):
        can = normalise(np.asarray(Image.open(args.data / row["image"]).convert("RGB")))
        spreads.append(texture_spread(local_contrast(can.rgb, can.field, level=None), can.field))
    median = np.median(np.array(spreads), axis=0)
    print(json.dumps({"photos": len(spreads), "median_spread_rgb": [round(float(v), 4) for v in median],
                      "shipped_TEXTURE_SPREAD": [float(v) for v in TEXTURE_SPREAD]}))


if __name__ == "__main__":
    main()
