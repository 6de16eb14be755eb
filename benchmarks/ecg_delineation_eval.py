"""Wave boundaries vs the QT Database cardiologist marks (annotator 1, `.q1c`).

    python benchmarks/ecg_delineation_eval.py [--data /work/shared/data/ecg/qtdb] [--records sel100 ...]

Each marked beat is matched to a detected beat (within 100 ms of the marked QRS peak); the error
(ours - reference, ms) of P onset, P offset, QRS onset, QRS offset and T end is summarised as mean and SD
over all matched beats, next to the CSE tolerances for the SD (P on 10.2, QRS on 6.5, QRS off 11.6,
T end 30.6 ms). Nothing was trained on these records; the few thresholds of the delineator were set by
hand while looking at these figures, so they are a development figure, not a hold-out one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import wfdb

from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

CSE_SD = {"p_on": 10.2, "p_off": 12.7, "qrs_on": 6.5, "qrs_off": 11.6, "t_off": 30.6}
BEATS = set("NLRBAaJSVrFejnE/fQ?")


def reference(path: Path) -> list[dict[str, int]]:
    ann = wfdb.rdann(str(path), "q1c")
    beats: list[dict[str, int]] = []
    pending: int | None = None
    wave: str | None = None
    cur: dict[str, int] = {}
    for s, sym in zip(ann.sample, ann.symbol, strict=True):
        s = int(s)
        if sym == "(":
            pending = s
        elif sym == "p":
            cur = {"p_peak": s}
            if pending is not None:
                cur["p_on"] = pending
            wave, pending = "p", None
        elif sym in BEATS:
            if wave != "p" or "qrs" in cur:
                cur = {}
            cur["qrs"] = s
            if pending is not None:
                cur["qrs_on"] = pending
            beats.append(cur)
            wave, pending = "qrs", None
        elif sym == "t":
            wave, pending = "t", None
        elif sym == "u":
            wave, pending = "u", None
        elif sym == ")":
            if wave == "p":
                cur["p_off"] = s
            elif wave == "qrs":
                cur["qrs_off"] = s
            elif wave == "t":
                cur["t_off"] = s
            pending = None
    return beats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/qtdb")
    ap.add_argument("--records", nargs="*")
    args = ap.parse_args()
    data = Path(args.data)
    records = args.records or (data / "RECORDS").read_text().split()
    errs: dict[str, list[float]] = {k: [] for k in CSE_SD}
    missed: dict[str, int] = {k: 0 for k in CSE_SD}
    for rec in records:
        ecg = read_ecg(data / rec)
        ref = reference(data / rec)
        det = detect_qrs(ecg.signal, ecg.fs)
        b = delineate(prepare(ecg.signal, ecg.fs), ecg.fs, det)
        ms = 1000.0 / ecg.fs
        for beat in ref:
            j = int(np.argmin(np.abs(det - beat["qrs"])))
            if abs(int(det[j]) - beat["qrs"]) > 0.1 * ecg.fs:
                for k in CSE_SD:
                    missed[k] += k in beat
                continue
            for k in CSE_SD:
                if k not in beat:
                    continue
                ours = int(getattr(b, k)[j])
                if ours < 0:
                    missed[k] += 1
                    continue
                errs[k].append((ours - beat[k]) * ms)
    print(f"{'wave':>8} {'n':>5} {'missed':>6} {'mean ms':>8} {'SD ms':>7} {'CSE SD':>7}  within")
    for k, tol in CSE_SD.items():
        e = np.asarray(errs[k])
        if e.size == 0:
            continue
        print(
            f"{k:>8} {e.size:>5} {missed[k]:>6} {e.mean():8.1f} {e.std():7.1f} {tol:7.1f}  "
            f"{'yes' if e.std() <= tol else 'no'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
