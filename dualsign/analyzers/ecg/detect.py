"""QRS detection on all leads: band-pass slope envelope, leads fused, adaptive thresholds with search-back.

Why this design: the QRS is the steepest, most energetic 5-25 Hz event in every lead, so each lead is turned
into an RMS slope envelope, normalised (so one large lead does not drown the others) and weighted by how
"peaky" it is (a noisy or lead-off channel contributes little). Peaks of the fused envelope are accepted by a
Pan-Tompkins-style adaptive signal/noise threshold, with search-back for missed beats and T-wave rejection.
Pacing spikes (1-3 ms wide) are removed by a short median filter before anything else, so they neither count
as beats nor inflate the thresholds.

Processing runs at 250 Hz whatever the input rate; peaks are mapped back and refined on the original samples.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import ndimage, signal

from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt

WORK_FS = 250.0
BAND = (5.0, 25.0)
DOMINANCE = 0.5
EARLY = 0.45
SEARCHBACK = True
SPLIT_TOL = 0.3  # a beat "splits" an RR when prev + next RR is within 30 % of the local RR
SPLIT_HEIGHT = 1.0  # ... and is dropped when not stronger than its neighbours on the fused envelope
SPLIT_WEAK = 0.7  # (or, next to irregular intervals, when clearly weaker than them)
FAINT = 0.4  # a detection below 40 % of the weaker of its two neighbours on the fused envelope is dropped
EDGE_S = 0.1  # a peak this close to either end of the record is a QRS cut off by the record boundary


def to_work_rate(x: np.ndarray, fs: float) -> np.ndarray:
    """Resample (n, leads) to WORK_FS with a polyphase filter (cheap for any rational ratio)."""
    if abs(fs - WORK_FS) < 1e-6:
        return x
    frac = Fraction(WORK_FS / fs).limit_denominator(1000)
    return signal.resample_poly(x, frac.numerator, frac.denominator, axis=0)


def median5(x: np.ndarray) -> np.ndarray:
    """5-sample running median along axis 0, edges repeated: the same values as
    ndimage.median_filter(x, size=(5, 1), mode="nearest"), from a min/max selection network (3x faster)."""
    n = x.shape[0]
    if n < 6:
        p = np.concatenate([x[:1], x[:1], x, x[-1:], x[-1:]], axis=0)
        return _median5_net(*(p[i : i + n] for i in range(5)))
    out = np.empty_like(x)
    # The interior straight from x (no padded copy of the record), the two samples at each end from padded bits.
    a, b, c, d, e = (x[i : n - 4 + i] for i in range(5))
    _median5_net(a, b, c, d, e, out=out[2 : n - 2])
    head = np.concatenate([x[:1], x[:1], x[:4]], axis=0)
    tail = np.concatenate([x[n - 4 :], x[-1:], x[-1:]], axis=0)
    out[:2] = _median5_net(*(head[i : i + 2] for i in range(5)))
    out[n - 2 :] = _median5_net(*(tail[i : i + 2] for i in range(5)))
    return out


def _median5_net(
    a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray, e: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """Element-wise median of five arrays (into out when given)."""
    # The same min/max operations on the same operands as written out in one expression, into three buffers.
    lo = np.minimum(a, b)
    t = np.minimum(c, d)
    np.maximum(lo, t, out=lo)  # the larger of the two pair minima
    hi = np.maximum(a, b, out=t)
    mid = np.maximum(c, d)
    np.minimum(hi, mid, out=hi)  # the smaller of the two pair maxima
    np.minimum(lo, hi, out=mid)
    np.maximum(lo, hi, out=lo)
    np.minimum(lo, e, out=lo)
    return np.maximum(mid, lo, out=mid if out is None else out)  # median of lo, hi, e


def _envelopes(xw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead slope (band-passed derivative) and its 100-ms RMS envelope, at WORK_FS."""
    fs = WORK_FS
    # 5-sample median (20 ms) removes pacing spikes but keeps the QRS (>= 40 ms wide).
    despiked = median5(xw)
    sos = signal.butter(2, BAND, btype="bandpass", fs=fs, output="sos")
    bp = sosfiltfilt(sos, despiked)
    slope = np.gradient(bp, axis=0)
    slope *= fs
    win = int(round(0.1 * fs))
    # In place where possible: fewer record-sized temporaries, fewer fresh pages to fault in.
    env = np.multiply(slope, slope)
    ndimage.uniform_filter1d(env, win, axis=0, output=env, mode="nearest")
    return slope, np.sqrt(env, out=env)


def _lead_weights(env: np.ndarray) -> np.ndarray:
    """Weight per lead: peak-to-background ratio of its envelope in 2-s blocks (noisy leads count less)."""
    fs = WORK_FS
    blk = int(2 * fs)
    n = env.shape[0] // blk
    if n < 1:
        peak = env.max(axis=0)
        back = median0(env)
    else:
        # (blocks, leads, samples): a reduction along the middle axis of (blocks, samples, leads), with only a
        # few leads innermost, is 20-40x slower in numpy; max and median are the same values in either layout.
        blocks = np.ascontiguousarray(env[: n * blk].reshape(n, blk, -1).transpose(0, 2, 1))
        peak = median0(blocks.max(axis=-1))
        back = median0(np.median(blocks, axis=-1))
    ratio = peak / np.maximum(back, 1e-9)
    w = np.clip(ratio - 2.0, 0.0, None) ** 2
    if not np.any(w > 0):
        w = np.ones_like(ratio)
    scale = np.maximum(peak, 1e-9)
    return w / scale / w.sum()


def fused_envelope(xw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    slope, env = _envelopes(xw)
    w = _lead_weights(env)
    fused = env @ w
    fslope = np.abs(slope) @ w
    return fused, fslope


def _max_around(y: np.ndarray, at: np.ndarray, size: int) -> np.ndarray:
    """ndimage.maximum_filter1d(y, size, mode="nearest")[at], from the windows at `at` only: that filter's
    window at i is y[i - size // 2 : i - size // 2 + size], edges repeated (which no maximum notices)."""
    lo = -(size // 2)
    idx = np.clip(at[:, None] + np.arange(lo, lo + size)[None, :], 0, y.size - 1)
    return np.asarray(gather.at(y, idx).max(axis=1), dtype=y.dtype)


def _decide(fused: np.ndarray, fslope: np.ndarray) -> np.ndarray:
    """Adaptive-threshold decision over candidate peaks of the fused envelope (indices at WORK_FS)."""
    fs = WORK_FS
    cand, props = signal.find_peaks(fused, distance=int(0.2 * fs), height=1e-3 * float(fused.max() + 1e-12))
    if cand.size == 0:
        return cand
    h = props["peak_heights"]
    # A candidate dwarfed by a neighbour within 280 ms is a P or T wave next to a QRS, not a beat.
    local = _max_around(fused, cand, 2 * int(0.28 * fs) + 1)
    keep = h >= DOMINANCE * local
    cand, h = cand[keep], h[keep]
    # Max slope around each candidate: used to tell a QRS from a following T wave.
    sl = _max_around(fslope, cand, int(0.12 * fs))
    first = h[cand < 8 * fs] if np.any(cand < 8 * fs) else h
    spk = float(np.percentile(first, 90)) * 0.6
    npk = float(median0(h)) * 0.3
    beats: list[int] = []
    rr_avg = 0.8 * fs
    last_slope = 0.0
    last_i = -1  # index into cand of the last accepted beat
    # Python lists: the loop reads one element at a time (the same float64 values as the arrays hold).
    cand_l, h_l, sl_l = cand.tolist(), h.tolist(), sl.tolist()
    for i in range(len(cand_l)):
        c = int(cand_l[i])
        thr = npk + 0.25 * (spk - npk)
        # Search back: a long gap since the last beat means a beat was probably missed; take the biggest
        # candidate in the gap above half the threshold.
        if SEARCHBACK and beats and c - beats[-1] > 1.66 * rr_avg:
            lo = last_i + 1
            gap = [
                j
                for j in range(lo, i)
                if cand_l[j] - beats[-1] > 0.36 * fs and c - cand_l[j] > 0.36 * fs and h_l[j] > 0.5 * thr
            ]
            if gap:
                j = max(gap, key=lambda k: h_l[k])
                beats.append(int(cand_l[j]))
                spk = 0.25 * h_l[j] + 0.75 * spk
                last_slope = float(sl_l[j])
                last_i = j
        if h_l[i] > thr:
            if beats and c - beats[-1] < 0.36 * fs and sl_l[i] < 0.5 * last_slope:
                npk = 0.125 * h_l[i] + 0.875 * npk  # T wave
                continue
            if beats and c - beats[-1] < 0.65 * rr_avg and h_l[i] < EARLY * spk:
                # Premature and small: noise or a T wave far more often than a real early beat.
                npk = 0.125 * h_l[i] + 0.875 * npk
                continue
            if beats:
                rr = c - beats[-1]
                if 0.5 * rr_avg < rr < 1.7 * rr_avg or len(beats) < 3:
                    rr_avg = 0.8 * rr_avg + 0.2 * rr
                else:
                    rr_avg = 0.95 * rr_avg + 0.05 * rr
            beats.append(c)
            spk = 0.125 * h_l[i] + 0.875 * spk
            last_slope = float(sl_l[i])
            last_i = i
        else:
            npk = 0.125 * h_l[i] + 0.875 * npk
    return np.asarray(beats, dtype=np.int64)


def _drop_split_beats(beats: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """Remove detections that split a regular RR interval in two and are weaker than their neighbours.

    In a regular rhythm, a detection whose previous and next intervals add up to the local RR is either
    an interpolated ectopic beat (rare, and as strong as a QRS) or a noise burst / artefact (the usual case
    in noisy ambulatory records); the latter is weaker on the fused QRS envelope than the beats around it.
    """
    for _ in range(3):
        n = beats.size
        if n < 5:
            return beats
        rr = np.diff(beats).astype(float)
        loc = ndimage.median_filter(rr, size=17, mode="nearest")
        h = fused[beats]
        prev, nxt = rr[:-1], rr[1:]  # around beats[1:-1]
        span = prev + nxt
        ref = loc[1:]
        neigh = np.minimum(h[:-2], h[2:])
        split = (np.abs(span - ref) < SPLIT_TOL * ref) & (np.minimum(prev, nxt) < 0.75 * ref)
        # A QRS-strength detection is dropped only between regular intervals (otherwise it may be part of
        # an ectopic run, e.g. the second beat of a V couplet); a clearly weaker one is dropped anyway.
        before = np.concatenate([[np.nan], rr[:-2]])
        after = np.concatenate([rr[2:], [np.nan]])
        regular = (np.abs(before - ref) < 0.25 * ref) & (np.abs(after - ref) < 0.25 * ref)
        weak = (h[1:-1] < SPLIT_WEAK * neigh) | (regular & (h[1:-1] < SPLIT_HEIGHT * neigh))
        drop = np.flatnonzero(split & weak) + 1
        if drop.size == 0:
            return beats
        beats = np.delete(beats, drop)
    return beats


def _drop_faint_beats(beats: np.ndarray, fused: np.ndarray) -> np.ndarray:
    """Remove detections far weaker on the fused QRS envelope than both neighbouring beats.

    What passes the adaptive threshold this faintly is a search-back pick in a compensatory pause, a
    non-conducted P wave or a noise burst; a real QRS, even a small ectopic one, carries more slope energy in
    some lead. (Threshold chosen on the MIT-BIH development records, where no matched beat falls below it.)
    """
    if beats.size < 3:
        return beats
    h = _max_around(fused, beats, 7)  # +-12 ms at WORK_FS
    neigh = np.minimum(np.concatenate([[np.inf], h[:-1]]), np.concatenate([h[1:], [np.inf]]))
    return beats[h >= FAINT * neigh]


def refine_peaks(x: np.ndarray, fs: float, approx: np.ndarray, half_width_s: float = 0.06) -> np.ndarray:
    """Move each approximate beat to the largest |band-passed| deflection nearby (leads summed)."""
    if approx.size == 0:
        return approx
    sos = signal.butter(2, [3.0, 30.0], btype="bandpass", fs=fs, output="sos")
    bp = sosfiltfilt(sos, x)
    scale = np.maximum(np.percentile(np.abs(bp[::4]), 99, axis=0), 1e-9)  # every 4th sample suffices
    hw = max(1, int(round(half_width_s * fs)))
    offs = np.arange(-hw, hw + 1)
    idx = np.clip(approx[:, None] + offs[None, :], 0, bp.shape[0] - 1)
    # The leads' summed magnitude only where it is searched (the same arithmetic per sample as over the record).
    win_mag = (np.abs(bp[idx]) / scale).sum(axis=-1)
    k = np.argmax(win_mag, axis=1)
    rows = np.arange(idx.shape[0])
    best, first = np.unique(idx[rows, k], return_index=True)
    mag = win_mag[rows, k][first]  # mag at each of best
    # Two refined peaks closer than 200 ms are one beat: keep the larger.
    while best.size > 1:
        close = np.flatnonzero(np.diff(best) < 0.2 * fs)
        if close.size == 0:
            break
        drop = np.unique(np.where(mag[close] < mag[close + 1], close, close + 1))
        best, mag = np.delete(best, drop), np.delete(mag, drop)
    return best


def detect_qrs(signal_mv: np.ndarray, fs: float, median: np.ndarray | None = None) -> np.ndarray:
    """Sample indices (at `fs`) of every detected QRS complex; all leads are used.

    signal_mv: float array (n_samples,) or (n_samples, n_leads) in mV. median: np.median(signal_mv, axis=0),
    when the caller has it (fastmedian.centred).
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
        median = None if median is None else np.reshape(median, (1,))
    if x.shape[0] < int(0.5 * fs):
        return np.zeros(0, dtype=np.int64)
    x = x - (median0(x) if median is None else median)
    xw = to_work_rate(x, fs)
    fused, fslope = fused_envelope(xw)
    beats_w = _drop_faint_beats(_drop_split_beats(_decide(fused, fslope), fused), fused)
    approx = np.round(beats_w * (fs / WORK_FS)).astype(np.int64)
    approx = approx[(approx >= 0) & (approx < x.shape[0])]
    peaks = refine_peaks(x, fs, approx)
    edge = int(round(EDGE_S * fs))
    return peaks[(peaks >= edge) & (peaks < x.shape[0] - edge)]
