"""Train and evaluate the rhythm / AF model on the CinC 2017 records and export it to ONNX.

    python -m dualsign.analyzers.ecg.training.train_rhythm --data /work/shared/data/ecg

Features use the runtime QRS detector's peaks and the shipped beat classifier (train_beats first). Protocol:
stratified 5-fold cross-validation by record (seed fixed); every record is scored by the fold model that did
not train on it. Score = mean F1 of N, A and O (the Challenge score). The shipped model trains on all 4000.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import delineate, qc
from dualsign.analyzers.ecg import rhythm_model as rm
from dualsign.analyzers.ecg.training import common

PARAMS: dict[str, Any] = {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 20,
                          "l2_regularization": 1.0}
BALANCE_POWER = 0.5


def record_features(data: Path, rec: str) -> np.ndarray:
    sig, fs = common.load_cinc(data, rec)
    peaks = common.detect(sig, fs, f"cinc_{rec}")
    labels, _ = bc.classify_beats(sig, fs, ["I"], peaks, common.p_wave_present(sig, fs, ["I"], peaks))
    return rm.rhythm_features(sig, fs, ["I"], peaks, labels)


def _code_hash() -> str:
    h = hashlib.sha256()
    # Beat labels depend on delineation's P waves (the template anchor), so its code is part of the key too.
    for p in (Path(rm.__file__), Path(bc.__file__), Path(delineate.__file__), Path(qc.__file__),
              bc.WEIGHTS_DIR / bc.MORPH_MODEL, bc.WEIGHTS_DIR / bc.RR_MODEL):
        h.update(p.read_bytes())
    return h.hexdigest()[:12] + "_" + common.detector_id()[-12:]


def all_features(data: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    ref = common.cinc_reference(data)
    cache = common.CACHE / f"cinc_features_{_code_hash()}.npz"
    if cache.exists():
        z = np.load(cache)
        return [r for r, _ in ref], z["x"], z["y"]
    t0 = time.time()
    x = np.zeros((len(ref), len(rm.FEATURES)), dtype=np.float32)
    for i, (rec, _) in enumerate(ref):
        x[i] = record_features(data, rec)
        if i % 500 == 0:
            print(f"features {i}/{len(ref)} {time.time() - t0:.0f}s", flush=True)
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    y = np.asarray([rm.RHYTHM_CLASSES.index(lab) for _, lab in ref], dtype=np.int64)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=x, y=y)
    return [r for r, _ in ref], x, y


def fit(x: np.ndarray, y: np.ndarray) -> HistGradientBoostingClassifier:
    w = np.ones(y.size)
    for c in np.unique(y):
        w[y == c] = (y == c).mean() ** -BALANCE_POWER
    m = HistGradientBoostingClassifier(random_state=common.SEED, early_stopping=False, **PARAMS)
    m.fit(x, y, sample_weight=w * y.size / w.sum())
    return m


def f1_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    out = {}
    for i, c in enumerate(rm.RHYTHM_CLASSES):
        tp = float(((pred == i) & (y == i)).sum())
        den = float((pred == i).sum() + (y == i).sum())
        out[c] = 2 * tp / den if den else 0.0
    out["score_mean_f1_NAO"] = float(np.mean([out["N"], out["A"], out["O"]]))
    return out


def calibration_a(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability of P(A): Brier score, expected calibration error and the per-bin table."""
    t = (y == rm.RHYTHM_CLASSES.index("A")).astype(float)
    pa = p[:, rm.RHYTHM_CLASSES.index("A")]
    edges = np.linspace(0, 1, bins + 1)
    table, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (pa >= lo) & ((pa < hi) if hi < 1 else (pa <= hi))
        if m.any():
            ece += m.mean() * abs(pa[m].mean() - t[m].mean())
            table.append({"bin": [round(lo, 2), round(hi, 2)], "n": int(m.sum()),
                          "mean_p": round(float(pa[m].mean()), 4), "frac_af": round(float(t[m].mean()), 4)})
    return {"brier": float(np.mean((pa - t) ** 2)), "ece": float(ece), "bins": table}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the ecg data folder (with cinc2017.tar.xz)")
    ap.add_argument("--no-export", action="store_true", help="evaluate only; keep the shipped weights")
    args = ap.parse_args(argv)
    recs, x, y = all_features(args.data)

    skf = StratifiedKFold(n_splits=5, shuffle=True, random_state=common.SEED)
    proba = np.zeros((y.size, len(rm.RHYTHM_CLASSES)))
    folds = []
    for k, (tr, te) in enumerate(skf.split(x, y)):
        m = fit(x[tr], y[tr])
        proba[te] = m.predict_proba(x[te])
        folds.append(f1_scores(y[te], proba[te].argmax(1)))
        print(f"fold {k}: " + json.dumps({a: round(b, 4) for a, b in folds[-1].items()}), flush=True)
    pooled = f1_scores(y, proba.argmax(1))
    mean_folds = {c: float(np.mean([f[c] for f in folds])) for c in folds[0]}
    cm = np.zeros((4, 4), dtype=int)
    for t, p in zip(y, proba.argmax(1), strict=True):
        cm[t, p] += 1
    cal = calibration_a(y, proba)
    print("mean over folds:", json.dumps({a: round(b, 4) for a, b in mean_folds.items()}))
    print("pooled:", json.dumps({a: round(b, 4) for a, b in pooled.items()}))
    print("confusion (rows = reference N,A,O,~):", cm.tolist())
    print(f"P(A) brier {cal['brier']:.4f} ece {cal['ece']:.4f}")
    if args.no_export:
        return 0
    m = fit(x, y)
    common.export_onnx(m, x.shape[1], rm.RHYTHM_MODEL)
    bc._session.cache_clear()
    common.update_card("rhythm", {
        "model": rm.RHYTHM_MODEL, "classes": list(rm.RHYTHM_CLASSES), "features": list(rm.FEATURES),
        "params": PARAMS, "balance_power": BALANCE_POWER, "seed": common.SEED, "detector": common.detector_id(),
        "training_data": f"CinC 2017 training records in the data folder ({len(recs)}: "
                         + ", ".join(f"{c} {int((y == i).sum())}" for i, c in enumerate(rm.RHYTHM_CLASSES)) + ")",
        "protocol": "stratified 5-fold cross-validation by record (StratifiedKFold shuffle, seed "
                    f"{common.SEED}); F1 per class; score = mean F1 of N, A, O",
        "cv_mean_over_folds": mean_folds, "cv_pooled": pooled, "cv_per_fold": folds,
        "cv_confusion_rows_reference": {"classes": list(rm.RHYTHM_CLASSES), "matrix": cm.tolist()},
        "calibration_p_af": cal,
        "command": "python -m dualsign.analyzers.ecg.training.train_rhythm --data /work/shared/data/ecg",
    })
    print("exported", rm.RHYTHM_MODEL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
