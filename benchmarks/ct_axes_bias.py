"""Bias of the long and short axes on ellipses of exact size: the pixel measure against the sub-pixel edge.

    python benchmarks/ct_axes_bias.py [--n 40] [--seed 0]

For each length (6, 10, 15, 24, 30 pixels), --n ellipses (`validation.ellipse.blurred_ellipse`: axis ratio
0.8-1.0, random angle and sub-pixel centre, partial volume, 0.6-pixel Gaussian edge) are thresholded at half their
contrast and measured by `segment.axes_2d` without the image (edge-pixel centres plus one pixel) and with it
(sub-pixel edge points). Prints the mean error of each, in pixels (BENCHMARKS.md, "Long and short axes from the
sub-pixel edge").
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from dualsign.analyzers.ct_nodule.segment import axes_2d
from dualsign.analyzers.ct_nodule.validation.ellipse import blurred_ellipse


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    for long_px in (6.0, 10.0, 15.0, 24.0, 30.0):
        pixel, subpixel, short_sub = [], [], []
        for _ in range(args.n):
            ratio = float(rng.uniform(0.8, 1.0))
            img = blurred_ellipse(long_px, ratio, float(rng.uniform(0, np.pi)), rng.uniform(-0.5, 0.5, 2))
            mask = img > 0.5
            pixel.append(axes_2d(mask, 1.0)[0] - long_px)
            long_s, short_s = axes_2d(mask, 1.0, img, 0.5)
            subpixel.append(long_s - long_px)
            short_sub.append(short_s - ratio * long_px)
        rows.append({"long_px": long_px, "pixel_centres_plus_one": round(float(np.mean(pixel)), 2),
                     "subpixel_edge": round(float(np.mean(subpixel)), 2),
                     "subpixel_edge_short_axis": round(float(np.mean(short_sub)), 2)})
    json.dump({"n": args.n, "seed": args.seed, "mean_error_px": rows}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
