"""Development check of the candidate classifier's features on the training hosts only (no evaluation host).

    python benchmarks/ct_candidate_features_oof.py --cache F [--drop NAME[,NAME]] [--by scan|host]

F is the `--cache` of `python -m dualsign.analyzers.ct_nodule.training.train_candidates --scans 10 --cache F`.
Each scan's candidates are scored by a model that never saw that scan (`--by scan`: 5 folds by scan, as the
calibration) or that host (`--by host`: fitted on the other training hosts, the harder test of carrying over
to a scanner or kernel not seen). A nodule's score is its best positive candidate's, a false positive is any
negative candidate; the sensitivity at 0.125-8 false positives per scan is over the nodules that have a
positive candidate at all (a missing candidate is the detector's business, not the classifier's), per host and
pooled. `--drop` leaves features out, to compare feature sets on the same candidates.
"""

from __future__ import annotations

import argparse

import numpy as np

from dualsign.analyzers.ct_nodule.detect import FEATURES
from dualsign.analyzers.ct_nodule.training.train_candidates import load_or_build, new_model, out_of_fold
from dualsign.analyzers.ct_nodule.validation.froc import FP_RATES as RATES
from dualsign.analyzers.ct_nodule.validation.froc import sensitivity_at_fp_rates


def by_host(groups: list[tuple[np.ndarray, np.ndarray]], hosts: list[str]) -> list[np.ndarray]:
    """Per scan, the logit of a model fitted on the scans of the other hosts."""
    out: list[np.ndarray] = [np.zeros(0)] * len(groups)
    for host in sorted(set(hosts)):
        fit = [g for g, h in zip(groups, hosts, strict=True) if h != host]
        m = new_model().fit(np.concatenate([g[0] for g in fit]), np.concatenate([g[1] for g in fit]))
        for i, h in enumerate(hosts):
            if h == host:
                p = np.clip(m.predict_proba(groups[i][0])[:, 1], 1e-6, 1 - 1e-6)
                out[i] = np.log(p / (1 - p))
    return out


def froc(scores: list[np.ndarray], labels: list[np.ndarray], nodules: list[np.ndarray]) -> list[float]:
    """A nodule's score is its best positive candidate's; every negative candidate is a false positive."""
    best: list[float] = []
    fps: list[float] = []
    for s, y, t in zip(scores, labels, nodules, strict=True):
        fps += list(s[y == 0])
        best += [float(s[(y == 1) & (t == k)].max()) for k in np.unique(t[y == 1])]
    return [sens for sens, _ in sensitivity_at_fp_rates(best, fps, len(scores), RATES)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--drop", default="", help="comma-separated feature names to leave out")
    ap.add_argument("--by", choices=("scan", "host"), default="scan")
    args = ap.parse_args()
    named = load_or_build(args.cache, 10)
    drop = [d for d in args.drop.split(",") if d]
    keep = [i for i, n in enumerate(FEATURES) if n not in drop]
    if named[0][1].shape[1] != len(FEATURES):
        raise SystemExit(f"the cache has {named[0][1].shape[1]} features, the detector {len(FEATURES)}")
    groups = [(x[:, keep], y) for _, x, y, _ in named]
    hosts = [h for h, *_ in named]
    scores = out_of_fold(groups) if args.by == "scan" else by_host(groups, hosts)
    print(f"features: {len(keep)} (dropped: {', '.join(drop) or 'none'}); held out by {args.by}")
    print("host".ljust(28) + " nodules " + " ".join(f"{r:>6g}" for r in RATES) + "   CPM")
    for host in sorted(set(hosts)) + ["all"]:
        sel = [i for i, h in enumerate(hosts) if host in ("all", h)]
        sens = froc([scores[i] for i in sel], [named[i][2] for i in sel], [named[i][3] for i in sel])
        n = sum(len(np.unique(named[i][3][named[i][2] == 1])) for i in sel)
        print(host.ljust(28) + f" {n:7d} " + " ".join(f"{100 * v:6.1f}" for v in sens) + f" {np.mean(sens):.3f}")


if __name__ == "__main__":
    main()
