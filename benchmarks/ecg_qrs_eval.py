"""QRS detection accuracy on the MIT-BIH records that have signals (EC57 beat-by-beat, 150 ms window).

    python benchmarks/ecg_qrs_eval.py [--data /work/shared/data/ecg/mitdb] [--records 104 106 ...]

Reference = beat annotations of the record's .atr (non-beat annotations such as rhythm changes, artefacts
and comments excluded); a detection matches a reference beat within 150 ms (one-to-one, nearest first).
The whole record is scored (stricter than EC57's default of skipping the first 5 minutes); both figures
are printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import wfdb

from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ?")


def match(ref: np.ndarray, det: np.ndarray, tol: int) -> tuple[int, int, int]:
    """One-to-one matching within tol samples: (TP, FN, FP)."""
    if ref.size == 0 or det.size == 0:
        return 0, int(ref.size), int(det.size)
    j = np.searchsorted(det, ref)
    used = np.zeros(det.size, dtype=bool)
    tp = 0
    for r, k in zip(ref, j, strict=True):
        best, bd = -1, tol + 1
        for c in (k - 1, k, k + 1):
            if 0 <= c < det.size and not used[c] and abs(int(det[c]) - int(r)) < bd:
                best, bd = c, abs(int(det[c]) - int(r))
        if best >= 0 and bd <= tol:
            used[best] = True
            tp += 1
    return tp, int(ref.size) - tp, int(det.size) - tp


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/mitdb")
    ap.add_argument("--records", nargs="*")
    args = ap.parse_args()
    data = Path(args.data)
    records = args.records or (data / "RECORDS").read_text().split()
    tot = np.zeros(3, dtype=np.int64)
    tot5 = np.zeros(3, dtype=np.int64)
    print(
        f"{'record':>7} {'beats':>6} {'TP':>6} {'FN':>5} {'FP':>5} {'Se%':>7} {'+P%':>7} "
        f"{'Se%>5min':>9} {'+P%>5min':>9} {'s':>5}"
    )
    for rec in records:
        ecg = read_ecg(data / rec)
        ann = wfdb.rdann(str(data / rec), "atr")
        ref = np.array([s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEAT_SYMBOLS])
        t0 = time.perf_counter()
        det = detect_qrs(ecg.signal, ecg.fs)
        dt = time.perf_counter() - t0
        tol = int(round(0.15 * ecg.fs))
        tp, fn, fp = match(ref, det, tol)
        start = int(300 * ecg.fs)
        tp5, fn5, fp5 = match(ref[ref >= start], det[det >= start], tol)
        tot += (tp, fn, fp)
        tot5 += (tp5, fn5, fp5)
        print(
            f"{rec:>7} {ref.size:>6} {tp:>6} {fn:>5} {fp:>5} {100 * tp / (tp + fn):7.2f} "
            f"{100 * tp / (tp + fp):7.2f} {100 * tp5 / (tp5 + fn5):9.2f} {100 * tp5 / (tp5 + fp5):9.2f} "
            f"{dt:5.2f}"
        )
    tp, fn, fp = (int(v) for v in tot)
    tp5, fn5, fp5 = (int(v) for v in tot5)
    print(
        f"{'total':>7} {tp + fn:>6} {tp:>6} {fn:>5} {fp:>5} {100 * tp / (tp + fn):7.2f} "
        f"{100 * tp / (tp + fp):7.2f} {100 * tp5 / (tp5 + fn5):9.2f} {100 * tp5 / (tp5 + fp5):9.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
