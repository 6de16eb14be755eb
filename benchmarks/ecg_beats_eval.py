"""AAMI beat classes (N, S, V, F, Q): per-class Se and +P, EC57 beat-by-beat on detected beats.

    python benchmarks/ecg_beats_eval.py --loo [--data /work/shared/data/ecg]
    python benchmarks/ecg_beats_eval.py --mitdb DIR --records 100 103 ...   (shipped model, e.g. on hold-out)

--loo runs the inter-patient protocol the model card reports (leave-one-record-out over the six MIT-BIH
records with signals; no record is ever scored by a model that trained on it). Without --loo the shipped
model is scored on the records given: on the developer records (104, 106, 108, 116, 119, 223) that figure is
in-sample and says nothing about new patients; use it on records the model never saw (MIT-BIH DS2).
Beats: runtime detector, each reference beat matched to the nearest detection within 150 ms (one-to-one);
unmatched beats are reported as missed, not classified.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.training import common, train_beats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ecg"))
    ap.add_argument("--loo", action="store_true", help="leave-one-record-out protocol (trains fold models)")
    ap.add_argument("--mitdb", type=Path, help="folder of WFDB records with .atr (default DATA/mitdb)")
    ap.add_argument("--records", nargs="*", default=list(common.SIGNAL_RECORDS))
    args = ap.parse_args()
    if args.loo:
        return train_beats.main(["--data", str(args.data), "--no-export"])
    mitdb = args.mitdb or args.data / "mitdb"
    true: list[str] = []
    pred: list[str] = []
    missed = 0
    for rec in args.records:
        sig, fs, names, ref, labels = common.load_mitdb(mitdb.parent, rec) if mitdb.name == "mitdb" else \
            common.load_mitdb(mitdb, rec)
        det = detect_qrs(sig, fs)
        lab, _ = bc.classify_beats(sig, fs, names, det, common.p_wave_present(sig, fs, names, det))
        m = common.match_peaks(ref, det, int(0.15 * fs))
        missed += int((m < 0).sum())
        t = [labels[i] for i in np.flatnonzero(m >= 0)]
        p = [lab[j] for j in m[m >= 0]]
        s = common.per_class_stats(t, p, bc.AAMI_CLASSES)["per_class"]
        print(rec, json.dumps({c: [v["n"], v["se"] and round(v["se"], 4), v["ppv"] and round(v["ppv"], 4)]
                               for c, v in s.items() if v["n"] or v["ppv"] is not None}))
        true += t
        pred += p
    st = common.per_class_stats(true, pred, bc.AAMI_CLASSES)
    print("gross (n, Se, +P):", json.dumps({c: [v["n"], v["se"] and round(v["se"], 4), v["ppv"] and round(v["ppv"], 4)]
                                            for c, v in st["per_class"].items()}))
    print("confusion rows = reference N,S,V,F,Q:", st["confusion"], "missed beats:", missed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
