"""Train the lesion classifier on the outlined lesions of the training scans; write weights/lesions.onnx.

    python -m dualsign.analyzers.ct_nodule.training.train_lesions --candidates F [--cache G] [--scans 10]

F is the candidate cache of `train_candidates --cache F` (the same training scans, in the same order). Each scan is
simulated again (same host, seed and sharp-kernel look), its candidates scored by a candidate model fitted on the
other folds of F (5 folds by scan, as the calibration), so the lesion classifier learns from candidate confidences
as they are on a scan the candidate model never saw, not from its fitted ones. The candidates are outlined as the
analyzer does (`lesions.form_lesions` down to `LESION_FLOOR`) and every outlined lesion becomes an
example: positive when its centre lies within a simulated nodule's radius of the nodule's centre (the LUNA16 hit
rule), negative otherwise; lesions at a host's real lesion and mass-stage lesions are left out.
The lesion model is fitted on all scans; its logistic calibration on out-of-fold scores (folds by scan). The
script prints the lesion-level FROC on the training hosts, out of fold, with the candidate confidence alone and with
the lesion classifier: a development figure (the evaluation hosts are never seen here). `--cache G` keeps the
lesion examples between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.classify import CARD_FILE, LESION_MODEL_FILE, load_card
from dualsign.analyzers.ct_nodule.detect import find_candidates
from dualsign.analyzers.ct_nodule.lesions import LESION_FEATURES, LESION_FLOOR, form_lesions, lesion_features
from dualsign.analyzers.ct_nodule.masses import find_masses
from dualsign.analyzers.ct_nodule.segment import Segmentation
from dualsign.analyzers.ct_nodule.training.train_candidates import (
    TRAIN_SEED0,
    load_or_build,
    new_model,
    simulated_scan,
)
from dualsign.analyzers.ct_nodule.validation.froc import FP_RATES as RATES
from dualsign.analyzers.ct_nodule.validation.froc import sensitivity_at_fp_rates
from dualsign.analyzers.ct_nodule.validation.hosts import Host, near_real_lesion, training_hosts

FOLDS = 5
# per lesion: features, label, diameter of the nodule hit (0: none); per scan: diameters of all nodules
ScanLesions = tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def lesion_model() -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=100, max_depth=2, learning_rate=0.08, subsample=0.8,
                                      min_samples_leaf=20, random_state=0)


def _candidate_scorer(model: Any, a: float, b: float) -> Any:
    def score(x: np.ndarray) -> np.ndarray:
        p = np.clip(model.predict_proba(x)[:, 1], 1e-6, 1 - 1e-6)
        return 1.0 / (1.0 + np.exp(-(a * np.log(p / (1 - p)) + b)))
    return score


def scan_lesions(host: Host, seed: int, n_nodules: int, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                                np.ndarray]:
    scan, lungs, truth = simulated_scan(host, seed, n_nodules)
    cands = find_candidates(scan, lungs)
    probs = score(np.stack([c.features for c in cands])) if cands else np.zeros(0)
    lesions, _ = form_lesions(scan, lungs, find_masses(scan, lungs), cands, probs, LESION_FLOOR)
    xs, ys, hit_d = [], [], []
    for les in lesions:
        if not isinstance(les.shape, Segmentation):
            continue
        lps = scan.index_to_lps(les.shape.center_index)
        hits = [t for t in truth if np.linalg.norm(lps - np.array(t.center_mm)) <= t.diameter_mm / 2]
        if not hits and near_real_lesion(host, lps):
            continue
        xs.append(lesion_features(les))
        ys.append(1 if hits else 0)
        hit_d.append(max(t.diameter_mm for t in hits) if hits else 0.0)
    x = np.array(xs, np.float32).reshape(-1, len(LESION_FEATURES))
    return x, np.array(ys, np.int64), np.array(hit_d), np.array([t.diameter_mm for t in truth])


def build(candidates: str, cache: str | None, scans: int) -> list[ScanLesions]:
    if cache and os.path.exists(cache):
        z = np.load(cache)
        return [(str(z["hosts"][i]), z[f"x{i}"], z[f"y{i}"], z[f"d{i}"], z[f"n{i}"]) for i in range(int(z["n"]))]
    named = load_or_build(candidates, scans)
    card = load_card() or {}
    cal = card.get("calibration", {})
    a, b = float(cal.get("a", 1.0)), float(cal.get("b", 0.0))
    groups = [(x, y) for _, x, y, _ in named]
    scorers = []
    for fold in range(FOLDS):
        fit = [g for i, g in enumerate(groups) if i % FOLDS != fold]
        m = new_model().fit(np.concatenate([g[0] for g in fit]), np.concatenate([g[1] for g in fit]))
        scorers.append(_candidate_scorer(m, a, b))
    out: list[ScanLesions] = []
    t0 = time.time()
    i = 0
    for h_i, host in enumerate(training_hosts()):
        n_nodules = 10 if host.volume.shape[0] * host.volume.spacing[0] > 150 else 3
        for k in range(scans):
            if named[i][0] != host.name:
                raise SystemExit(f"candidate cache scan {i} is of {named[i][0]}, expected {host.name}")
            seed = TRAIN_SEED0 + 100 * h_i + k
            out.append((host.name, *scan_lesions(host, seed, n_nodules, scorers[i % FOLDS])))
            print(f"{host.name} seed {seed}: {len(out[-1][2])} lesions, {int(out[-1][2].sum())} hits "
                  f"({time.time() - t0:.0f} s)", flush=True)
            i += 1
    if cache:
        arrays: dict[str, Any] = {}
        for j, (_, x, y, d, n) in enumerate(out):
            arrays |= {f"x{j}": x, f"y{j}": y, f"d{j}": d, f"n{j}": n}
        np.savez_compressed(cache, n=len(out), hosts=np.array([g[0] for g in out]), **arrays)
    return out


def froc(scores: list[np.ndarray], data: list[ScanLesions], min_mm: float) -> list[float]:
    """Lesion-level sensitivity for nodules >= min_mm at each FP/scan rate; a nodule without a lesion is missed."""
    fps: list[float] = []
    best: list[float] = []
    for s, (_, _, y, d, sizes) in zip(scores, data, strict=True):
        fps += list(s[y == 0])
        for size in sizes[sizes >= min_mm]:
            mine = s[(y == 1) & np.isclose(d, size)]
            best.append(float(mine.max()) if mine.size else -np.inf)
    return [sens for sens, _ in sensitivity_at_fp_rates(best, fps, len(scores), RATES)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--candidates", required=True, help="the candidate cache of train_candidates --cache")
    ap.add_argument("--cache", default=None, help=".npz file to keep / reuse the lesion examples")
    ap.add_argument("--scans", type=int, default=10)
    args = ap.parse_args()
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    data = build(args.candidates, args.cache, args.scans)
    logit_col = LESION_FEATURES.index("candidate_logit")
    oof: list[np.ndarray] = [np.zeros(0)] * len(data)
    for fold in range(FOLDS):
        fit = [g for i, g in enumerate(data) if i % FOLDS != fold]
        m = lesion_model().fit(np.concatenate([g[1] for g in fit]), np.concatenate([g[2] for g in fit]))
        for i in range(fold, len(data), FOLDS):
            p = np.clip(m.predict_proba(data[i][1])[:, 1], 1e-6, 1 - 1e-6) if len(data[i][2]) else np.zeros(0)
            oof[i] = np.log(p / (1 - p))
    print("lesion-level sensitivity, out of fold on the training hosts (development figures)")
    print("scores".ljust(24) + "host".ljust(24) + " ".join(f"{r:>6g}" for r in RATES) + "   CPM")
    for name, scores in (("candidate confidence", [g[1][:, logit_col] for g in data]), ("lesion classifier", oof)):
        for host in sorted({g[0] for g in data}) + ["all"]:
            sel = [i for i, g in enumerate(data) if host in ("all", g[0])]
            sens = froc([scores[i] for i in sel], [data[i] for i in sel], 6.0)
            print(name.ljust(24) + host.ljust(24) + " ".join(f"{100 * v:6.1f}" for v in sens)
                  + f" {np.mean(sens):.3f}")
    logit, y_all = np.concatenate(oof), np.concatenate([g[2] for g in data])
    cal = LogisticRegression(C=1.0).fit(logit[:, None], y_all)
    a, b = float(cal.coef_[0, 0]), float(cal.intercept_[0])
    brier = float(np.mean((1 / (1 + np.exp(-(a * logit + b))) - y_all) ** 2))
    x_fit = np.concatenate([g[1] for g in data])
    model = lesion_model().fit(x_fit, y_all)
    onx = to_onnx(model, x_fit[:1], options={id(model): {"zipmap": False}}, target_opset=15)
    LESION_MODEL_FILE.write_bytes(onx.SerializeToString())
    card = load_card() or {}
    card["lesion_classifier"] = {
        "command": f"python -m dualsign.analyzers.ct_nodule.training.train_lesions --candidates F --scans "
                   f"{args.scans} (F: the cache of train_candidates --scans {args.scans} --cache F)",
        "features": list(LESION_FEATURES),
        "weights_sha256": hashlib.sha256(LESION_MODEL_FILE.read_bytes()).hexdigest(),
        "calibration": {"a": a, "b": b, "brier_out_of_fold": brier, "n_calibration": int(len(y_all)),
                        "method": "logistic on 5-fold out-of-fold scores, folds by scan"},
        "training_data": (f"the outlined lesions of the candidate classifier's {len(data)} training scans "
                          f"(candidate confidences out of fold): {int(y_all.sum())} hits and "
                          f"{int((1 - y_all).sum())} false positives"),
    }
    CARD_FILE.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"n": int(len(y_all)), "hits": int(y_all.sum()), "brier_oof": brier, "a": a, "b": b}))


if __name__ == "__main__":
    main()
