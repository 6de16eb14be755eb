"""The FROC points the evaluation and the training checks share, on counts worked out by hand."""

from __future__ import annotations

import math

from dualsign.analyzers.ct_nodule.validation.froc import sensitivity_at_fp_rates


def test_sensitivity_counts_nodules_strictly_above_the_allowed_false_positives() -> None:
    # 2 scans; false positives 0.9, 0.8, 0.5, 0.3. At 0.5 FP/scan one FP is allowed: the threshold is the second
    # highest (0.8) and nodules must score above it (0.95 only; 0.8 ties and does not count). At 1 FP/scan: above
    # 0.5 (0.95, 0.8, 0.6). At 4 FP/scan all four FPs are allowed: above the floor (every scored nodule; a missed
    # one, scored 0, is not above a floor of 0).
    hits = [0.95, 0.8, 0.6, 0.2, 0.0]
    fps = [0.3, 0.9, 0.5, 0.8]
    points = sensitivity_at_fp_rates(hits, fps, 2, rates=(0.5, 1.0, 4.0), floor=0.0)
    assert points == [(1 / 5, 0.8), (3 / 5, 0.5), (4 / 5, 0.0)]


def test_no_nodules_gives_no_sensitivity() -> None:
    [(sens, thr)] = sensitivity_at_fp_rates([], [0.5], 1, rates=(1.0,))
    assert math.isnan(sens) and thr == -math.inf
