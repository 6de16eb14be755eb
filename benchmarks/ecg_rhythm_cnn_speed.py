"""Cost of the rhythm CNN: per 30-s window (onnxruntime, one thread) and on a 30-min record end to end.

    python benchmarks/ecg_rhythm_cnn_speed.py [--data /work/shared/data/ecg] [--runs 5]

Per window: rhythm_model.cnn_probabilities (input preparation + network) on 30-s slices of the rhythm lead of
MIT-BIH 106 (360 Hz) and of the first developer CinC 2017 record (300 Hz), median over many calls, next to the
feature model's rhythm_probabilities on the same windows without the CNN. Whole analyzer: the 30-min record with
the CNN and without it (the CNN switched off in the same process), runs alternated so machine load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from dualsign.analyzers.ecg import ECGAnalyzer  # noqa: E402
from dualsign.analyzers.ecg import beat_classes as bc  # noqa: E402
from dualsign.analyzers.ecg import rhythm_model as rm  # noqa: E402
from dualsign.analyzers.ecg.detect import detect_qrs  # noqa: E402
from dualsign.analyzers.ecg.read import read_ecg  # noqa: E402
from dualsign.analyzers.ecg.training import common  # noqa: E402


def _median_ms(fn: Any, runs: int) -> float:
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return 1000.0 * float(np.median(ts))


def per_window(name: str, rec: Any, real_cnn: Any) -> None:
    fs = rec.fs
    names = list(rec.lead_names)
    band = rm.record_bands(rec.signal, fs, names)[0]
    w = int(30 * fs)
    starts = list(range(0, max(band.size - w, 0) + 1, w))[:60]
    real_cnn(band[:w], fs)  # session load
    cnn_ms = np.median([_median_ms(lambda a=a: real_cnn(band[a:a + w], fs), 20) for a in starts])
    prep_ms = np.median([_median_ms(lambda a=a: rm.cnn_input(band[a:a + w], fs), 20) for a in starts[:5]])
    sig = rec.signal[:w]
    r = detect_qrs(sig, fs)
    labels, _ = bc.classify_beats(sig, fs, names, r)
    bands = rm.record_bands(sig, fs, names)

    def rhythm() -> None:
        rm.rhythm_probabilities(sig, fs, names, r, labels, bands)

    rm.cnn_probabilities = lambda *a, **k: None
    feat_ms = _median_ms(rhythm, 20)
    rm.cnn_probabilities = real_cnn
    both_ms = _median_ms(rhythm, 20)
    print(f"{name}: CNN per 30-s window {cnn_ms:.2f} ms (input preparation {prep_ms:.2f} ms) over "
          f"{len(starts)} windows; rhythm model per window: features only {feat_ms:.1f} ms, "
          f"features + CNN {both_ms:.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ecg"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    real_cnn = rm.cnn_probabilities
    rec106 = read_ecg(args.data / "mitdb/106")
    per_window("mitdb 106, 360 Hz", rec106, real_cnn)
    first = common.cinc_reference(args.data)[0][0]
    per_window(f"CinC {first}, 300 Hz", read_ecg(common.cinc_dir(args.data) / first), real_cnn)
    an = ECGAnalyzer()
    an.analyze_record(rec106)
    # Wall and CPU time (process_time: less sensitive to other jobs on a shared machine), runs alternated.
    times: dict[str, list[tuple[float, float]]] = {"with CNN": [], "without": []}
    for _ in range(args.runs):
        for label in ("without", "with CNN"):
            rm.cnn_probabilities = real_cnn if label == "with CNN" else (lambda *a, **k: None)
            c0, t0 = time.process_time(), time.perf_counter()
            an.analyze_record(rec106)
            times[label].append((1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0)))
    rm.cnn_probabilities = real_cnn
    for label, ts in times.items():
        wall, cpu = np.median([t[0] for t in ts]), np.median([t[1] for t in ts])
        print(f"30-min mitdb 106, whole analyzer {label}: wall {wall:.0f} ms, CPU {cpu:.0f} ms (median of "
              f"{len(ts)}; wall runs {', '.join(f'{t[0]:.0f}' for t in ts)})")
    print("models:", an.analyze_record(rec106).raw["models"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
