"""Paced beats: a pacemaker's stimulus spike before the QRS, in a rhythm where such spikes recur.

Why a spike, and why this shape test: a pacemaker stimulus lasts 0.1-2 ms; after an ECG recorder's analogue
filtering it is a deflection of a few milliseconds that rises and falls back within about 8 ms, on a flat
baseline. No depolarisation of the heart is that brief: the fastest one, an R wave, still takes 20 ms or more
to rise and fall, so 8 ms either side of its peak it has lost only part of its height. A spike is therefore
a peak that (1) has lost most (>= 80 %) of its height 8 ms either side compared with 20 ms either side, (2) is
a sizeable part (>= 30 %) of the beat's QRS deflection, and (3) stands out (>= 4x) of the sharpest deflection
of the diastolic baseline before the beat (muscle noise makes such narrow peaks everywhere, a stimulus does
not). It is looked for from 200 ms before the detected QRS peak (a paced QRS is wide; the detector often marks
its late main wave) to 40 ms after it (the detector may mark the spike itself).

Why a rhythm, and why wide: one narrow notch can occur in any record, and a notch of the QRS itself recurs in
every beat; ventricular pacing repeats, and its QRS is wide (>= 120 ms: the stimulus starts depolarisation
outside the conduction system, as in a ventricular beat). A spiked beat counts as paced only when at least a
third of the 21 beats around it are spiked and wide (width: the beat model's slope-energy width, the wider of its
two leads). A spiked narrow beat (pacemaker fusion) in such a stretch is paced too; outside one it is not.

Figures (development figures: the settings were chosen while looking at these records). MIT-BIH, runtime
detector: 1,801 of record 104's 2,057 paced and fusion beats read paced, no beat of 106, 108, 116, 119 or 223
does (the most spiked beats in any 21 there: 2). QT Database (250 Hz): sel102, 15 min of another paced record,
946 of 1,087 paced beats; sel104 (record 104 again) 906 of 1,064; none in the 53 other records, two of which
(sele0133, sel16786) have a narrow notch in every QRS that the spike test alone took for a stimulus (765 and
364 beats) and the wide-QRS condition rejects. None of the first 800 CinC 2017 strips and none of the 30
12-lead records has a paced beat. A spike too small to stand out of the baseline (bipolar pacing, heavy
filtering, muscle noise) is missed; the beat is then judged on its shape like any other.
EC57 counts paced and pacemaker-fusion beats as class Q; so they are neither V beats nor parts of V runs.
"""

from __future__ import annotations

import numpy as np

PRE_S = 0.200  # spike search starts this long before the detected QRS peak
POST_S = 0.040
NARROW_S = 0.008
WIDE_S = 0.020
BASELINE_S = (0.450, 0.220)  # diastolic baseline window before the QRS peak
MIN_NARROW_FRACTION = 0.8
MIN_QRS_FRACTION = 0.3
MIN_OVER_BASELINE = 4.0
RHYTHM_BEATS = 21
MIN_RHYTHM_FRACTION = 1.0 / 3.0
# Ventricular pacing starts outside the conduction system: the QRS is wide, like a ventricular beat's.
WIDE_QRS_MS = 120.0


def _prominences(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Height of each sample above the higher of its two neighbours d samples away, and depth below the lower
    one (0 at the edges)."""
    up = np.zeros_like(y)
    down = np.zeros_like(y)
    if y.size > 2 * d:
        left, mid, right = y[: -2 * d], y[d:-d], y[2 * d :]
        up[d:-d] = mid - np.maximum(left, right)
        down[d:-d] = np.minimum(left, right) - mid
    return up, down


def _windows(n: int, r: np.ndarray, a: int, b: int) -> np.ndarray:
    """(n_beats, b - a) sample indices r + a .. r + b - 1, clipped to the record."""
    return np.clip(r[:, None] + np.arange(a, b)[None, :], 0, n - 1)


def _lead_spikes(y: np.ndarray, fs: float, r: np.ndarray) -> np.ndarray:
    """Per beat: a pacing-like spike in this lead (see the module note). Offsets of y do not matter."""
    y = np.ascontiguousarray(y)  # a column of the record: whole-record arithmetic runs faster on a copy
    n = y.size
    d1 = max(1, int(round(NARROW_S * fs)))
    d2 = max(d1 + 1, int(round(WIDE_S * fs)))
    up, down = _prominences(y, d1)
    narrow = np.maximum(up, down)
    # Spike: the sharpest narrow peak in the search window, either polarity.
    win = _windows(n, r, -int(PRE_S * fs), int(POST_S * fs))
    k = win[np.arange(r.size), np.argmax(narrow.take(win), axis=1)]
    p1 = narrow[k]
    sign = np.where(up[k] >= down[k], 1.0, -1.0)
    lo, hi = np.clip(k - d2, 0, n - 1), np.clip(k + d2, 0, n - 1)
    height = sign * y[k] - np.maximum(sign * y[lo], sign * y[hi])
    ptp = np.ptp(y.take(_windows(n, r, -int(0.1 * fs), int(0.1 * fs))), axis=1)
    base_max = narrow.take(_windows(n, r, -int(BASELINE_S[0] * fs), -int(BASELINE_S[1] * fs))).max(axis=1)
    return (
        (p1 > 0)
        & (p1 >= MIN_NARROW_FRACTION * np.maximum(height, p1))
        & (p1 >= MIN_QRS_FRACTION * ptp)
        & (p1 >= MIN_OVER_BASELINE * np.maximum(base_max, 1e-3))
    )


def spike_beats(x: np.ndarray, fs: float, r_peaks: np.ndarray) -> np.ndarray:
    """Per beat: a pacing-like spike in any lead. x: raw (not low-passed) signal, (n_samples, n_leads) or 1-D."""
    sig = np.asarray(x, dtype=np.float64)
    if sig.ndim == 1:
        sig = sig[:, None]
    r = np.asarray(r_peaks, dtype=np.int64)
    out = np.zeros(r.size, dtype=bool)
    if r.size == 0 or sig.shape[0] < 2:
        return out
    for li in range(sig.shape[1]):
        out |= _lead_spikes(sig[:, li], fs, r)
    return out


def paced_rhythm(spiked: np.ndarray, wide: np.ndarray) -> np.ndarray:
    """Per beat: paced, i.e. spiked, in a stretch where at least a third of the RHYTHM_BEATS beats around it
    are spiked and wide (beats in time order; wide: QRS >= WIDE_QRS_MS)."""
    spiked = np.asarray(spiked, dtype=bool)
    n = spiked.size
    if n == 0 or not spiked.any():
        return spiked.copy()
    half = min(RHYTHM_BEATS, n) // 2
    c = np.concatenate([[0], np.cumsum(spiked & np.asarray(wide, dtype=bool))])
    i = np.arange(n)
    lo, hi = np.maximum(i - half, 0), np.minimum(i + half + 1, n)
    return spiked & ((c[hi] - c[lo]) >= MIN_RHYTHM_FRACTION * (hi - lo))
