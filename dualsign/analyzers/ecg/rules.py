"""Rule-based stand-ins for the learned beat classifier and rhythm model, and RR-irregularity features.

Used only when the learned modules (beat_classes.py / rhythm_model.py) are missing or fail to load; the
findings JSON then says `"beat_classifier": "rules"` so a reader knows which was used. The RR-irregularity
measure is also what places AF episode start/end inside long records.
"""

from __future__ import annotations

import numpy as np


def rule_beat_classes(r: np.ndarray, fs: float, qrs_ms: np.ndarray) -> tuple[list[str], np.ndarray]:
    """AAMI label per beat from prematurity and QRS width: wide & premature = V, narrow & premature = S."""
    n = r.size
    labels = ["N"] * n
    probs = np.zeros((n, 5))
    probs[:, 0] = 1.0
    if n < 3:
        return labels, probs
    rr = np.diff(r) / fs
    pre = np.concatenate([[rr[0]], rr])
    post = np.concatenate([rr, [rr[-1]]])
    k = min(9, n)
    local = np.convolve(pre, np.ones(k) / k, mode="same")
    med_w = float(np.median(qrs_ms[qrs_ms > 0])) if np.any(qrs_ms > 0) else 100.0
    premature = (pre < 0.85 * local) & (post > 1.05 * pre)
    # In an irregular rhythm prematurity means nothing: only width marks a V beat there.
    irregular = rr_irregularity(rr) >= 0.12
    wide = qrs_ms > max(130.0, 1.5 * med_w)
    for i in range(n):
        if wide[i] and (premature[i] or med_w < 120):
            labels[i] = "V"
            probs[i] = [0.1, 0.0, 0.9, 0.0, 0.0]
        elif premature[i] and pre[i] < 0.75 * local[i] and post[i] > 1.15 * local[i] and not irregular:
            labels[i] = "S"
            probs[i] = [0.3, 0.7, 0.0, 0.0, 0.0]
    return labels, probs


def rr_irregularity(rr_s: np.ndarray) -> float:
    """Normalised successive-difference irregularity (RMSSD / mean RR), robust to one ectopic beat."""
    if rr_s.size < 4:
        return 0.0
    d = np.abs(np.diff(rr_s))
    d = np.sort(d)[: max(1, int(0.9 * d.size))]  # drop the largest 10 % (isolated ectopics)
    return float(np.sqrt(np.mean(d * d)) / np.mean(rr_s))


def organised_irregularity(rr_s: np.ndarray) -> float:
    """Irregularity left once a bigeminal or trigeminal pattern is taken out (sums of 2 or 3 successive RRs).

    Ectopic beats with a compensatory pause make the RR series irregular but periodic: the sum over one
    cycle (N-V + V-N, or N-N + N-V + V-N) is nearly constant. In AF the cycle sums stay irregular (for
    independent RRs their irregularity only falls by sqrt(k)), so this separates the two.
    """
    best = rr_irregularity(rr_s)
    for k in (2, 3):
        m = rr_s.size // k
        if m < 4:
            continue
        for phase in range(k):
            mm = (rr_s.size - phase) // k
            if mm < 4:
                continue
            sums = rr_s[phase : phase + mm * k].reshape(mm, k).sum(axis=1)
            best = min(best, rr_irregularity(sums) * np.sqrt(k))
    return best


def rule_rhythm_probabilities(rr_s: np.ndarray, p_fraction: float, usable: bool) -> dict[str, float]:
    """CinC-style N/A/O/~ scores from RR irregularity and how many beats show a P wave."""
    if not usable:
        return {"N": 0.0, "A": 0.0, "O": 0.0, "~": 1.0}
    irr = rr_irregularity(rr_s)
    # Bigeminy / trigeminy: periodic, not chaotic. Scaled by sqrt(k) above, AF keeps roughly its score.
    if organised_irregularity(rr_s) < 0.35 * irr:
        irr = organised_irregularity(rr_s)
    # P-wave presence is a weak cue on single-lead strips (fibrillatory waves pass as P waves), so it only
    # nudges the score; irregularity >= 0.12 alone is enough.
    a = float(np.clip((irr - 0.08) / 0.08 + 0.2 * (0.5 - p_fraction), 0, 1))
    rest = 1.0 - a
    return {"N": rest * 0.7, "A": a, "O": rest * 0.3, "~": 0.0}
