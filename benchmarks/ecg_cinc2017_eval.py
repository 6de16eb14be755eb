"""CinC 2017 score (mean F1 of N, A, O) of the rhythm model.

    python benchmarks/ecg_cinc2017_eval.py --cv [--data /work/shared/data/ecg]
    python benchmarks/ecg_cinc2017_eval.py --folder DIR     (shipped model on a folder with REFERENCE.csv)
    python benchmarks/ecg_cinc2017_eval.py --analyzer [--limit N] [--no-cnn]   (whole analyzer, fold models, mapped)
    python benchmarks/ecg_cinc2017_eval.py --shipped-analyzer --folder DIR [--first N]   (whole analyzer, shipped)

--cv runs the protocol the model card reports: stratified 5-fold cross-validation by record over the 4000
developer records, seed fixed, every record scored by a model that did not train on it: the feature model alone,
the CNN alone and their 0.5/0.5 average (what the analyzer runs). Fold CNNs are cached; the first run trains them
(about 5 minutes a fold on one thread). --folder scores the
shipped model (runtime detector + beat classifier + rhythm model, argmax of the four probabilities) on any
CinC-format folder; on the developer records that is in-sample, so use it on records the model never saw.
--analyzer runs the whole analyzer on every developer record with the rhythm models (feature model and CNN) of
the fold that did not train on that record (same folds as --cv) and maps its findings to the CinC classes the way
the issue's evaluation does: `~` when quality.usable is false, `A` when any rhythm episode is AF, `N` when the only
rhythm is sinus and no statement is abnormal, `O` otherwise. It also counts AFL episodes per reference class.
--shipped-analyzer runs the whole analyzer with the shipped models on the first N records of the folder's
REFERENCE.csv, mapped the same way: on the developer records that is in-sample, so only the difference between two
trees (the older one by PYTHONPATH) counts; it shows what a change of the beat or statement stages does.
--dump writes one JSON line per record: the mapping and its reasons, the quality verdict, the rhythm probabilities,
episodes, statements and per-beat calls [sample, aami, ectopy_confirmed, qrs_on, qrs_off, p_on].
On a shared machine run it with OMP_NUM_THREADS=1: the fold feature models predict with OpenMP threads otherwise,
which spin against other jobs (> 10 min instead of about 2.5 min for the 4000 records on 2 loaded cores).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import rhythm_model as rm
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg
from dualsign.analyzers.ecg.training import common, train_rhythm, train_rhythm_cnn

SINUS = {"SINUS", "SINUS_BRADY", "SINUS_TACHY"}


def cinc_class(raw: dict[str, Any]) -> str:
    """The issue's mapping of the findings JSON to a CinC 2017 class."""
    if not raw["quality"]["usable"]:
        return "~"
    labels = {e["label"] for e in raw["rhythm"]}
    if "AF" in labels:
        return "A"
    if labels and labels <= SINUS and not any(s["abnormal"] for s in raw["statements"]):
        return "N"
    return "O"


def analyzer_eval(data: Path, limit: int | None, dump: Path | None = None, cnn: bool = True) -> int:
    """Whole analyzer on the developer records, each with the rhythm models of the fold that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    recs, x, y = train_rhythm.all_features(data)
    cnn_paths = train_rhythm_cnn.fold_paths()
    if cnn and not all(p.exists() for p in cnn_paths):
        train_rhythm_cnn.main(["--data", str(data), "--no-export"])  # trains the fold CNNs (cached)
    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=common.SEED)
    fold_of = np.zeros(y.size, dtype=np.int64)
    models = []
    for k, (tr, te) in enumerate(skf.split(x, y)):
        models.append(train_rhythm.fit(x[tr], y[tr]))
        fold_of[te] = k
    an = ECGAnalyzer()
    folder = common.cinc_dir(data)
    order = np.arange(y.size) if limit is None else np.random.default_rng(0).permutation(y.size)[:limit]
    ref, pred = [], []
    afl: Counter[str] = Counter()
    afl_records: list[str] = []
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    for n, i in enumerate(order):
        model, net = models[fold_of[i]], str(cnn_paths[fold_of[i]]) if cnn else None

        def fold_fn(sig: Any, fs: Any, names: Any, r: Any, labels: Any, bands: Any = None, m: Any = model,
                    net: str | None = net) -> Any:
            if bands is None:
                bands = rm.record_bands(sig, fs, names)
            f = np.nan_to_num(rm.rhythm_features(sig, fs, names, r, labels, bands), nan=0.0, posinf=0.0, neginf=0.0)
            p_cnn = rm.cnn_probabilities(bands[0], fs, net) if net is not None else None
            p = rm.combine(m.predict_proba(f[None, :])[0], p_cnn)
            return dict(zip(rm.RHYTHM_CLASSES, p.tolist(), strict=True))

        an._rhythm_fn = fold_fn
        raw = an.analyze_record(read_ecg(folder / recs[i])).raw
        lab = rm.RHYTHM_CLASSES[y[i]]
        ref.append(lab)
        pred.append(cinc_class(raw))
        rows.append({"record": recs[i], "reference": lab, "mapped": pred[-1], "usable": raw["quality"]["usable"],
                     "rhythm": sorted({e["label"] for e in raw["rhythm"]}),
                     "abnormal_statements": [s["text"] for s in raw["statements"] if s["abnormal"]],
                     "reasons": raw["quality"]["reasons"], "warnings": raw["quality"]["warnings"],
                     "probabilities": raw["rhythm_probabilities"], "episodes": raw["rhythm"],
                     "statements": [{k: s[k] for k in ("code", "text", "abnormal", "critical", "criteria")}
                                    for s in raw["statements"]],
                     "beats": [[b["sample"], b["aami"], b["ectopy_confirmed"], b["qrs_on"], b["qrs_off"],
                                b["p_on"]] for b in raw["beats"]],
                     "fs": raw["fs_hz"], "duration_s": raw["duration_s"]})
        if any(e["label"] == "AFL" for e in raw["rhythm"]):
            afl[lab] += 1
            afl_records.append(f"{recs[i]}:{lab}")
        if n % 500 == 0:
            print(f"{n}/{order.size} {time.time() - t0:.0f}s", flush=True)
    yi = np.asarray([rm.RHYTHM_CLASSES.index(c) for c in ref])
    pi = np.asarray([rm.RHYTHM_CLASSES.index(c) for c in pred])
    cm = np.zeros((4, 4), dtype=int)
    for t, p in zip(yi, pi, strict=True):
        cm[t, p] += 1
    f1 = train_rhythm.f1_scores(yi, pi)
    which = "features + CNN" if cnn else "features only"
    print(f"analyzer, mapped, fold models ({which}):", json.dumps({k: round(v, 4) for k, v in f1.items()}))
    print("confusion (rows = reference N,A,O,~):", cm.tolist())
    print("records with an AFL episode, by reference class:", dict(afl), "of", dict(Counter(ref)))
    print("AFL records:", " ".join(afl_records))
    if dump is not None:
        dump.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return 0


def shipped_analyzer_eval(folder: Path, first: int | None) -> int:
    """Whole analyzer, shipped models, mapped classes, on the first `first` records of folder/REFERENCE.csv."""
    lines = (folder / "REFERENCE.csv").read_text().splitlines()
    ref = [ln.split(",")[:2] for ln in lines if ln.strip() and not ln.startswith("record")][:first]
    an = ECGAnalyzer()
    y, pred = [], []
    for rec, lab in ref:
        y.append(rm.RHYTHM_CLASSES.index(lab))
        pred.append(rm.RHYTHM_CLASSES.index(cinc_class(an.analyze_record(read_ecg(folder / rec)).raw)))
    yi, pi = np.asarray(y), np.asarray(pred)
    cm = np.zeros((4, 4), dtype=int)
    for t, p in zip(yi, pi, strict=True):
        cm[t, p] += 1
    print(f"analyzer, mapped, shipped models, first {len(ref)} records:",
          json.dumps({k: round(v, 4) for k, v in train_rhythm.f1_scores(yi, pi).items()}))
    print("confusion (rows = reference N,A,O,~):", cm.tolist())
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ecg"))
    ap.add_argument("--cv", action="store_true", help="5-fold cross-validation (trains fold models)")
    ap.add_argument("--folder", type=Path, help="CinC 2017-format folder with REFERENCE.csv")
    ap.add_argument("--analyzer", action="store_true", help="whole analyzer with fold models, mapped classes")
    ap.add_argument("--limit", type=int, help="--analyzer on a random subset of this many records")
    ap.add_argument("--dump", type=Path, help="--analyzer: write one JSON line per record (mapping reasons)")
    ap.add_argument("--no-cnn", action="store_true", help="--analyzer with the fold feature models alone (baseline)")
    ap.add_argument("--shipped-analyzer", action="store_true", help="whole analyzer, shipped models, on --folder")
    ap.add_argument("--first", type=int, help="--shipped-analyzer: the first N records of REFERENCE.csv only")
    args = ap.parse_args()
    if args.shipped_analyzer:
        if args.folder is None:
            ap.error("--shipped-analyzer needs --folder")
        return shipped_analyzer_eval(args.folder, args.first)
    if args.analyzer:
        return analyzer_eval(args.data, args.limit, args.dump, cnn=not args.no_cnn)
    if args.cv or args.folder is None:
        return train_rhythm_cnn.main(["--data", str(args.data), "--no-export"])
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
