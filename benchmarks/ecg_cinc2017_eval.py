"""CinC 2017 score (mean F1 of N, A, O) of the rhythm model.

    python benchmarks/ecg_cinc2017_eval.py --cv [--data /work/shared/data/ecg]
    python benchmarks/ecg_cinc2017_eval.py --folder DIR     (shipped model on a folder with REFERENCE.csv)

--cv runs the protocol the model card reports: stratified 5-fold cross-validation by record over the 4000
developer records, seed fixed, every record scored by a model that did not train on it. --folder scores the
shipped model (runtime detector + beat classifier + rhythm model, argmax of the four probabilities) on any
CinC-format folder; on the developer records that is in-sample, so use it on records the model never saw.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import wfdb

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import rhythm_model as rm
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.training import train_rhythm


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ecg"))
    ap.add_argument("--cv", action="store_true", help="5-fold cross-validation (trains fold models)")
    ap.add_argument("--folder", type=Path, help="CinC 2017-format folder with REFERENCE.csv")
    args = ap.parse_args()
    if args.cv or args.folder is None:
        return train_rhythm.main(["--data", str(args.data), "--no-export"])
    lines = (args.folder / "REFERENCE.csv").read_text().splitlines()
    ref = [ln.split(",")[:2] for ln in lines if ln.strip() and not ln.startswith("record")]
    y, pred = [], []
    for rec, lab in ref:
        r = wfdb.rdrecord(str(args.folder / rec))
        sig, fs = np.asarray(r.p_signal), float(r.fs)
        peaks = detect_qrs(sig, fs)
        labels, _ = bc.classify_beats(sig, fs, ["I"], peaks)
        p = rm.rhythm_probabilities(sig, fs, ["I"], peaks, labels)
        y.append(rm.RHYTHM_CLASSES.index(lab))
        pred.append(rm.RHYTHM_CLASSES.index(max(p, key=lambda k: p[k])))
    print(json.dumps({k: round(v, 4) for k, v in train_rhythm.f1_scores(np.asarray(y), np.asarray(pred)).items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
