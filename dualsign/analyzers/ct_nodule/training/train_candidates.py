"""Train the candidate classifier on simulated nodules in the training hosts; write weights/candidates.onnx.

    python -m dualsign.analyzers.ct_nodule.training.train_candidates [--scans 10]

Positives: candidates within a simulated nodule's radius of its centre (the LUNA16 hit rule) whose scale fits
the nodule (candidate radius 0.5-2x the nodule's). A hit at another scale (a 9 mm blob around a 5 mm nodule, a
3 mm one on the edge of a 25 mm nodule) is left out of both labels: its scale misdescribes the nodule, which a
candidate at its own scale finds. Negatives: every other candidate, except those at a real lesion of the host
(neither label is known to be right there).
Seeds 1000+ (training) never overlap the evaluation seeds of benchmarks/ct_simulated_nodules.py (0-99).
A gradient-boosted tree ensemble is fitted on all training scans; its logistic calibration is fitted on
out-of-fold predictions (5 folds by scan), so every calibration example comes from a scan the fold's model did
not see. The evaluation hosts are never seen here. `--cache` keeps the candidate features between runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.classify import CARD_FILE, MODEL_FILE
from dualsign.analyzers.ct_nodule.detect import FEATURES, find_candidates
from dualsign.analyzers.ct_nodule.lungs import LungMasks, segment_lungs
from dualsign.analyzers.ct_nodule.read import CTVolume
from dualsign.analyzers.ct_nodule.validation.hosts import Host, lesion_avoid_list, near_real_lesion, training_hosts
from dualsign.analyzers.ct_nodule.validation.kernel import random_sharpen
from dualsign.analyzers.ct_nodule.validation.simulate import SimulatedNodule, simulate_scan

TRAIN_SEED0 = 1000
SCALE_FIT = (0.5, 2.0)  # candidate radius / nodule radius for a positive


def simulated_scan(host: Host, seed: int, n_nodules: int) -> tuple[CTVolume, LungMasks, list[SimulatedNodule]]:
    """One training scan: the host with `n_nodules` simulated nodules (and its sharp-kernel look), its lungs, the
    truth."""
    vol = host.volume
    hu, truth = simulate_scan(vol.hu, vol.spacing, vol.index_to_lps, host.thickness_mm, n_nodules, seed,
                              avoid=lesion_avoid_list(host))
    if host.sharpen:
        hu = random_sharpen(hu, vol.spacing, seed)[0]
    scan = type(vol)(hu, vol.spacing, vol.origin, vol.axes, host.thickness_mm)
    return scan, segment_lungs(scan), truth


def scan_examples(host: Host, seed: int, n_nodules: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and, per candidate, the simulated nodule it hits (-1: none) of one simulated scan."""
    vol = host.volume
    scan, lungs, truth = simulated_scan(host, seed, n_nodules)
    # The shipped classifier was fitted without the pleural pool's candidates (it scores them, features of the
    # wall-filled image); fitting on them too is a change of model, not a reproduction of this one.
    cands = find_candidates(scan, lungs, pleural_pool=False)
    sp = np.array(vol.spacing)
    xs, ys, nodule = [], [], []
    for c in cands:
        hits = [t for t in truth
                if np.linalg.norm((c.center_index - np.array(t.center_index)) * sp) <= t.diameter_mm / 2]
        if not hits and near_real_lesion(host, vol.index_to_lps(c.center_index)):
            continue
        if hits and not any(SCALE_FIT[0] <= c.radius_mm / (t.diameter_mm / 2) <= SCALE_FIT[1] for t in hits):
            continue
        xs.append(c.features)
        ys.append(1 if hits else 0)
        nodule.append(truth.index(hits[0]) if hits else -1)
    return np.array(xs, np.float32), np.array(ys, np.int64), np.array(nodule, np.int64)


ScanExamples = tuple[str, np.ndarray, np.ndarray, np.ndarray]  # host, features, labels, nodule hit per candidate


def load_or_build(cache: str | None, scans: int) -> list[ScanExamples]:
    """The candidate examples of every training scan: from `cache` when it exists, otherwise simulated (and kept
    in `cache` when given)."""
    if cache and os.path.exists(cache):
        z = np.load(cache)
        n = int(z["n"])
        names = [str(h) for h in z["hosts"]] if "hosts" in z else [""] * n
        hit = [z[f"t{i}"] if f"t{i}" in z else np.full(len(z[f"y{i}"]), -1) for i in range(n)]
        return [(names[i], z[f"x{i}"], z[f"y{i}"], hit[i]) for i in range(n)]
    named: list[ScanExamples] = []
    t0 = time.time()
    for h_i, host in enumerate(training_hosts()):
        n_nodules = 10 if host.volume.shape[0] * host.volume.spacing[0] > 150 else 3
        for k in range(scans):
            seed = TRAIN_SEED0 + 100 * h_i + k
            named.append((host.name, *scan_examples(host, seed, n_nodules)))
            print(f"{host.name} seed {seed}: {len(named[-1][2])} candidates, {int(named[-1][2].sum())} "
                  f"positive ({time.time() - t0:.0f} s)", flush=True)
    if cache:
        arrays = ({f"x{i}": g[1] for i, g in enumerate(named)} | {f"y{i}": g[2] for i, g in enumerate(named)}
                  | {f"t{i}": g[3] for i, g in enumerate(named)})
        np.savez_compressed(cache, n=len(named), hosts=np.array([g[0] for g in named]),
                            **arrays)  # type: ignore[arg-type]
    return named


def new_model() -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=150, max_depth=3, learning_rate=0.08, subsample=0.8,
                                      min_samples_leaf=20, random_state=0)


def out_of_fold(groups: list[tuple[np.ndarray, np.ndarray]], folds: int = 5) -> list[np.ndarray]:
    """Per scan, the logit of a model fitted on the other folds (scan i is in fold i % folds)."""
    out: list[np.ndarray] = [np.zeros(0)] * len(groups)
    for fold in range(folds):
        fit = [g for i, g in enumerate(groups) if i % folds != fold]
        held = [i for i in range(len(groups)) if i % folds == fold]
        if not held:
            continue
        m = new_model().fit(np.concatenate([g[0] for g in fit]), np.concatenate([g[1] for g in fit]))
        for i in held:
            p = np.clip(m.predict_proba(groups[i][0])[:, 1], 1e-6, 1 - 1e-6)
            out[i] = np.log(p / (1 - p))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=10, help="simulated scans per training host")
    ap.add_argument("--cache", default=None, help=".npz file to keep / reuse the candidate features")
    ap.add_argument("--without", action="append", default=[], metavar="HOST",
                    help="leave this training host's scans out (ablations); repeatable")
    args = ap.parse_args()
    from onnx import __version__ as _onnx_version  # noqa: F401  (the export needs onnx)
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    named = load_or_build(args.cache, args.scans)
    groups = [(x, y) for name, x, y, _ in named if name not in args.without]
    used_hosts = sorted({name for name, *_ in named if name not in args.without})

    # out-of-fold scores for the calibration, folds by scan
    logit = np.concatenate(out_of_fold(groups))
    y_cal = np.concatenate([g[1] for g in groups])
    cal = LogisticRegression(C=1.0).fit(logit[:, None], y_cal)
    a, b = float(cal.coef_[0, 0]), float(cal.intercept_[0])
    pc = 1 / (1 + np.exp(-(a * logit + b)))
    brier = float(np.mean((pc - y_cal) ** 2))
    x_fit = np.concatenate([g[0] for g in groups])
    y_fit = np.concatenate([g[1] for g in groups])
    model = new_model().fit(x_fit, y_fit)
    onx = to_onnx(model, x_fit[:1], options={id(model): {"zipmap": False}}, target_opset=15)
    MODEL_FILE.write_bytes(onx.SerializeToString())
    sha = hashlib.sha256(MODEL_FILE.read_bytes()).hexdigest()
    card = {
        "command": "python -m dualsign.analyzers.ct_nodule.training.train_candidates --scans " + str(args.scans)
        + "".join(f" --without {h}" for h in args.without),
        "training_hosts": used_hosts,
        "scans": len(groups),
        "features": list(FEATURES),
        "weights_sha256": {MODEL_FILE.name: sha},
        "calibration": {"a": a, "b": b, "brier_out_of_fold": brier, "n_calibration": int(len(y_cal)),
                        "method": "logistic on 5-fold out-of-fold scores, folds by scan"},
        "training_data": (
            "Simulated nodules (4-30 mm; solid, ground-glass, part-solid; isolated, juxtapleural, juxtavascular) "
            "inserted into real CT: Lung-PET-CT-Dx A0001 B-kernel series (5 mm native and resampled to 1.25 mm) "
            "and the LIDC-IDRI-0002 slab, the 1.25 mm B-kernel host and the slab also with a random sharp-kernel "
            f"look (validation/kernel.py; hosts used: {', '.join(used_hosts)}); seeds {TRAIN_SEED0}+, "
            f"{len(groups)} scans, "
            f"{int(y_fit.sum())} positive and {int((1 - y_fit).sum())} negative "
            "candidates. No real nodule was used as a positive."
        ),
        "accuracy": {
            "see": "BENCHMARKS.md 'Chest CT' (benchmarks/ct_simulated_nodules.py on the evaluation hosts "
            "A0001 L-kernel resampled to 1 mm and LIDC-IDRI-0001, seeds 0-99; never used in training)",
        },
    }
    CARD_FILE.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    print(json.dumps({"n": int(len(y_fit)), "positives": int(y_fit.sum()), "brier_oof": brier, "a": a, "b": b}))


if __name__ == "__main__":
    main()
