"""Beat-to-beat scatter of the wave boundaries, ours and the QT Database annotator's, relative to the QRS peak.

    python benchmarks/ecg_boundary_jitter.py [--data /work/shared/data/ecg/qtdb] [--neighbours 5]

For each record and boundary (P onset, QRS onset, QRS offset, T end): the SD over the marked beats of (boundary -
QRS peak), for the annotator's marks (`.q1c`, relative to their own peak mark) and for ours (relative to our R
peak), averaged over records. Beside it the pooled error (ours - mark) as the analyzer's delineator gives it per
beat, and once more with each beat's boundary replaced by the median offset of its +-N neighbours (a smoothing
that would help if our per-beat scatter were noise the annotator does not share). Same matching as
`ecg_delineation_eval.py` (nearest detected beat within 100 ms of the marked peak); withheld boundaries left out.
Development data: these are the 55 records the delineator was designed on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ecg_delineation_eval import reference

from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

WAVES = ("p_on", "qrs_on", "qrs_off", "t_off")


def _neighbour_median(rel: np.ndarray, k: int) -> np.ndarray:
    out = np.full(rel.shape, np.nan)
    for i in range(rel.size):
        window = rel[max(0, i - k) : i + k + 1]
        if np.any(~np.isnan(window)):
            out[i] = np.nanmedian(window)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/qtdb")
    ap.add_argument("--neighbours", type=int, default=5)
    args = ap.parse_args()
    data = Path(args.data)
    records = sorted((data / "RECORDS").read_text().split())
    err: dict[str, list[float]] = {w: [] for w in WAVES}
    err_smooth: dict[str, list[float]] = {w: [] for w in WAVES}
    sd_theirs: dict[str, list[float]] = {w: [] for w in WAVES}
    sd_ours: dict[str, list[float]] = {w: [] for w in WAVES}
    for rec in records:
        ecg = read_ecg(data / rec)
        ref = reference(data / rec)
        ms = 1000.0 / ecg.fs
        det = detect_qrs(ecg.signal, ecg.fs)
        bounds = delineate(prepare(ecg.signal, ecg.fs), ecg.fs, det, withhold=True)
        for w in WAVES:
            ours = getattr(bounds, w).astype(float)
            rel = np.where(ours >= 0, ours - det, np.nan)
            smooth = _neighbour_median(rel, args.neighbours)
            theirs_rel: list[float] = []
            ours_rel: list[float] = []
            for beat in ref:
                j = int(np.argmin(np.abs(det - beat["qrs"])))
                if w not in beat or abs(int(det[j]) - beat["qrs"]) > 0.1 * ecg.fs or np.isnan(rel[j]):
                    continue
                err[w].append((det[j] + rel[j] - beat[w]) * ms)
                err_smooth[w].append((det[j] + smooth[j] - beat[w]) * ms)
                theirs_rel.append((beat[w] - beat["qrs"]) * ms)
                ours_rel.append(rel[j] * ms)
            if len(theirs_rel) >= 3:
                sd_theirs[w].append(float(np.std(theirs_rel)))
                sd_ours[w].append(float(np.std(ours_rel)))
    print(f"{len(records)} records; SD over each record's beats of (boundary - QRS peak), averaged over records; "
          f"pooled error per beat, and with the median of +-{args.neighbours} neighbours")
    print(f"{'wave':>8} {'annotator SD':>12} {'ours SD':>8} {'error per beat':>16} {'error smoothed':>16}")
    for w in WAVES:
        e, s = np.asarray(err[w]), np.asarray(err_smooth[w])
        print(f"{w:>8} {np.mean(sd_theirs[w]):12.1f} {np.mean(sd_ours[w]):8.1f} "
              f"{e.mean():7.1f} ± {e.std():5.1f} {s.mean():7.1f} ± {s.std():5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
