"""Per-beat P-wave presence (`delineate(...).p_present`) dumped and compared, so a delineation change can be
shown to leave it byte-identical (the beat classifier is trained on it).

    python benchmarks/ecg_p_present_check.py dump OUT.npz
    python benchmarks/ecg_p_present_check.py compare OUT.npz

Records: the 55 QT Database records and the six MIT-BIH records with signals (104 106 108 116 119 223). Two
paths each: the one the analyzer and the beat-classifier training take (median removed, QC lead selection,
as `training.common.p_wave_present`) and the benchmark's (all leads, no QC). Besides p_present, the other
boundaries are stored, and `compare` prints how many beats changed per boundary (for information).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import wfdb

from dualsign.analyzers.ecg import qc
from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

DATA = Path("/work/shared/data/ecg")
MITDB = ("104", "106", "108", "116", "119", "223")
FIELDS = ("p_present", "p_on", "p_peak", "p_off", "qrs_on", "qrs_off", "t_peak", "t_off")


def _signals() -> list[tuple[str, np.ndarray, float, list[str]]]:
    out = []
    for rec in sorted((DATA / "qtdb" / "RECORDS").read_text().split()):
        ecg = read_ecg(DATA / "qtdb" / rec)
        out.append((f"qtdb/{rec}", ecg.signal, ecg.fs, ecg.lead_names))
    for rec in MITDB:
        r = wfdb.rdrecord(str(DATA / "mitdb" / rec))
        out.append((f"mitdb/{rec}", np.asarray(r.p_signal, dtype=np.float64), float(r.fs), list(r.sig_name)))
    return out


def _dump() -> dict[str, np.ndarray]:
    res: dict[str, np.ndarray] = {}
    for key, sig, fs, names in _signals():
        x = sig - np.median(sig, axis=0)
        r = detect_qrs(x, fs)
        xf = prepare(x, fs)
        quality, _ = qc.assess(x, xf, fs, names, r)
        for path, lead_ok in (("qc", quality.lead_ok), ("all", None)):
            b = delineate(xf, fs, r, lead_ok)
            for f in FIELDS:
                res[f"{key}|{path}|{f}"] = np.asarray(getattr(b, f))
    return res


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["dump", "compare"])
    ap.add_argument("file")
    args = ap.parse_args()
    now = _dump()
    if args.mode == "dump":
        np.savez_compressed(args.file, **now)  # type: ignore[arg-type]  # numpy stub: **kwds also meets allow_pickle: bool
        print(f"{len(now)} arrays written to {args.file}")
        return 0
    old = dict(np.load(args.file))
    bad = 0
    changed = {f: 0 for f in FIELDS}
    for k, v in old.items():
        w = now[k]
        f = k.split("|")[-1]
        same = v.shape == w.shape and v.dtype == w.dtype and v.tobytes() == w.tobytes()
        if f == "p_present" and not same:
            bad += 1
            print(f"p_present CHANGED: {k}")
        if not same:
            changed[f] += int(np.count_nonzero(v != w)) if v.shape == w.shape else v.size
    print("beats changed per boundary (both paths):", changed)
    print("p_present byte-identical on every record and path" if bad == 0 else f"p_present differs in {bad} arrays")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
