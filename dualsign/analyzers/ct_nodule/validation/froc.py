"""Sensitivity at fixed false-positive rates per scan (the points of a FROC curve), shared by the evaluation and the
development checks so they count the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

FP_RATES = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


def sensitivity_at_fp_rates(hit_scores: Sequence[float], fp_scores: Sequence[float], n_scans: int,
                            rates: Sequence[float] = FP_RATES, floor: float = -np.inf) -> list[tuple[float, float]]:
    """(sensitivity, threshold) per rate. At `rate` false positives per scan, k = floor(rate x n_scans) of them are
    allowed: a nodule counts when its score is strictly above the (k+1)-th highest false positive's, or above
    `floor` when there are no more than k."""
    hits = np.asarray(hit_scores, float)
    fp = np.sort(np.asarray(fp_scores, float))[::-1]
    out = []
    for rate in rates:
        k = int(np.floor(rate * n_scans))
        thr = float(fp[k]) if k < len(fp) else floor
        out.append((float(np.mean(hits > thr)) if len(hits) else float("nan"), thr))
    return out
