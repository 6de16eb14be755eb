"""Speed: one fundus photo analysed end to end (file read, QC, segmenter, lesions, grade, findings JSON, overlay
PNG) on one core, beside a baseline in the same run: just decoding the same JPEG with Pillow.

    taskset -c 0 python benchmarks/fundus_speed.py [--data /work/shared/data/fundus] [--n 20]

Median over the first N photos of the development set (each analysed once after one warm-up photo); onnxruntime
runs with one intra-op thread. Also a 3000 x 3000 upscaled photo, since real cameras write large files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from dualsign.analyzers.fundus import FundusAnalyzer  # noqa: E402

TARGET_S = 0.5


def _timed(fn: Callable[..., object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/fundus")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    photos = sorted((Path(args.data) / "images").glob("*.jpg"))[: args.n]
    analyzer = FundusAnalyzer()
    analyzer.analyze([photos[0]])  # warm-up: first ONNX run allocates

    def decode(p: Path) -> None:
        with Image.open(p) as im:
            np.asarray(im.convert("RGB"))

    ours = [_timed(lambda p=p: analyzer.analyze([p])) for p in photos]
    base = [_timed(lambda p=p: decode(p)) for p in photos]
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "big.jpg"
        Image.open(photos[0]).convert("RGB").resize((3000, 3000), Image.Resampling.BICUBIC).save(big, quality=92)
        ours_big = statistics.median(_timed(lambda: analyzer.analyze([big])) for _ in range(3))
        base_big = statistics.median(_timed(lambda: decode(big)) for _ in range(3))
    med, med_base = statistics.median(ours), statistics.median(base)
    print(f"512x512 JPEG ({len(photos)} photos): dualsign median {1000 * med:.0f} ms (max {1000 * max(ours):.0f}), "
          f"decode only {1000 * med_base:.1f} ms, ratio {med / med_base:.0f}x")
    print(f"3000x3000 JPEG: dualsign {1000 * ours_big:.0f} ms, decode only {1000 * base_big:.0f} ms, "
          f"ratio {ours_big / base_big:.1f}x")
    met = med <= TARGET_S and ours_big <= TARGET_S
    print(f"target <= {TARGET_S} s per image: {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
