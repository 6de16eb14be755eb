"""Wave boundaries (P on/off, QRS on/off, T end) per beat, vectorised over all beats and leads.

QRS: a multi-lead slope "activity" curve (|derivative| normalised per lead, averaged over the usable leads);
the QRS starts where the activity last stayed below a fraction of its QRS peak for 16 ms and ends where it
first does so again. P and T: the area method (the boundary of a smooth wave is where the area between the
wave and a horizontal line through the candidate point is largest), which is robust to noise and needs no
baseline estimate; T end is taken on the lead with the largest T wave.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

QRS_ON_FRAC = 0.12
QRS_OFF_FRAC = 0.15


@dataclass
class Boundaries:
    """Sample indices per beat (-1 where not found); p_present says whether a P wave was found."""

    p_on: np.ndarray
    p_peak: np.ndarray
    p_off: np.ndarray
    qrs_on: np.ndarray
    qrs_off: np.ndarray
    t_peak: np.ndarray
    t_off: np.ndarray
    p_present: np.ndarray


def prepare(x: np.ndarray, fs: float) -> np.ndarray:
    """Baseline-removed (0.5 Hz) and 40-Hz low-passed copy used for delineation and measurement."""
    hi = min(40.0, 0.45 * fs)
    sos = signal.butter(2, [0.5, hi], btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, axis=0)


def _windows(center: np.ndarray, start: int, stop: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    offs = np.arange(start, stop)
    idx = center[:, None] + offs[None, :]
    valid = (idx >= 0) & (idx < n)
    return np.clip(idx, 0, n - 1), valid


def _area_curve(x: np.ndarray, w: int, forward: bool) -> np.ndarray:
    """A(t) = sum over the w samples before (or after) t of x(j) - x(t), for every t and lead."""
    n = x.shape[0]
    c = np.vstack([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    t = np.arange(n)
    if forward:
        hi = np.minimum(t + w + 1, n)
        s = c[hi] - c[t]
        cnt = (hi - t)[:, None]
    else:
        lo = np.maximum(t - w, 0)
        s = c[t + 1] - c[lo]
        cnt = (t + 1 - lo)[:, None]
    return s - cnt * x


def _pick(curve: np.ndarray, idx: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per beat, the window index (absolute sample) where |curve| is largest."""
    vals = np.where(valid, np.abs(curve[idx]), -np.inf)
    k = np.argmax(vals, axis=1)
    return idx[np.arange(idx.shape[0]), k]


def delineate(xf: np.ndarray, fs: float, r: np.ndarray, lead_ok: np.ndarray | None = None) -> Boundaries:
    """Boundaries for beats at samples r of the prepared signal xf (n, leads)."""
    n, n_leads = xf.shape
    r = np.asarray(r, dtype=np.int64)
    nb = r.size
    empty = np.full(nb, -1, dtype=np.int64)
    if nb == 0:
        return Boundaries(empty, empty, empty, empty, empty, empty, empty, np.zeros(0, bool))
    ok = np.ones(n_leads, bool) if lead_ok is None or not np.any(lead_ok) else np.asarray(lead_ok, bool)
    ms = fs / 1000.0
    xs = xf[:, ok]

    # --- QRS: multi-lead activity
    d = np.abs(np.gradient(xs, axis=0))
    d /= np.maximum(np.percentile(d, 99, axis=0), 1e-12)
    act = ndimage.uniform_filter1d(d.mean(axis=1), max(1, int(round(8 * ms))), mode="nearest")
    w16 = max(2, int(round(16 * ms)))
    back_max = ndimage.maximum_filter1d(act, w16, origin=(w16 - 1) // 2, mode="nearest")  # act[t-w..t]
    fwd_max = ndimage.maximum_filter1d(act, w16, origin=-(w16 // 2), mode="nearest")  # act[t..t+w]
    idx, valid = _windows(r, -int(60 * ms), int(60 * ms) + 1, n)
    peak = np.max(np.where(valid, act[idx], 0.0), axis=1)
    idx, valid = _windows(r, -int(160 * ms), 1, n)
    below = valid & (back_max[idx] < QRS_ON_FRAC * peak[:, None])
    last = idx.shape[1] - 1 - np.argmax(below[:, ::-1], axis=1)
    qrs_on = np.where(below.any(axis=1), idx[np.arange(nb), last], r - int(50 * ms))
    idx, valid = _windows(r, 0, int(200 * ms) + 1, n)
    below = valid & (fwd_max[idx] < QRS_OFF_FRAC * peak[:, None])
    first = np.argmax(below, axis=1)
    qrs_off = np.where(below.any(axis=1), idx[np.arange(nb), first], r + int(60 * ms))

    rr_next = np.diff(r, append=r[-1] + int(fs))
    rr_prev = np.diff(r, prepend=r[0] - int(fs))

    # --- T wave: 15-Hz low-passed, lead with the largest T deflection per beat
    sos = signal.butter(2, min(15.0, 0.45 * fs), btype="lowpass", fs=fs, output="sos")
    xl = signal.sosfiltfilt(sos, xs, axis=0)
    base = xl[np.clip(qrs_on - int(20 * ms), 0, n - 1)]  # (nb, leads) PR-segment level
    t_lo = int(100 * ms)
    t_hi = int(560 * ms)
    idx, valid = _windows(qrs_off, t_lo, t_hi, n)
    # Search T peak no later than 70 % of the next RR (avoids the next beat's P wave).
    limit = (r + (0.7 * rr_next).astype(np.int64))[:, None]
    valid &= idx < limit
    dev = np.abs(xl[idx] - base[:, None, :])  # (nb, win, leads)
    dev = np.where(valid[:, :, None], dev, -1.0)
    kpk = np.argmax(dev, axis=1)  # (nb, leads)
    amp = np.take_along_axis(dev, kpk[:, None, :], axis=1)[:, 0, :]
    best = np.argmax(amp, axis=1)
    t_peak = idx[np.arange(nb), kpk[np.arange(nb), best]]
    area_t = _area_curve(xl, max(2, int(round(120 * ms))), forward=False)
    idx, valid = _windows(t_peak, 1, int(300 * ms), n)
    valid &= idx < (r + (0.9 * rr_next).astype(np.int64))[:, None]
    t_off = np.full(nb, -1, dtype=np.int64)
    for lead in np.unique(best):
        sel = best == lead
        t_off[sel] = _pick(area_t[:, lead], idx[sel], valid[sel])
    t_found = amp[np.arange(nb), best] > 0.03
    t_off = np.where(t_found, t_off, -1)
    t_peak = np.where(t_found, t_peak, -1)

    # --- P wave: before QRS onset, after the previous T wave
    p_lo = -int(300 * ms)
    idx, valid = _windows(qrs_on, p_lo, -int(30 * ms), n)
    prev_limit = (r - (0.6 * rr_prev).astype(np.int64))[:, None]
    valid &= idx > prev_limit
    base_p = xl[np.clip(qrs_on - int(10 * ms), 0, n - 1)]
    dev = np.abs(xl[idx] - base_p[:, None, :])
    dev = np.where(valid[:, :, None], dev, -1.0)
    kpk = np.argmax(dev, axis=1)
    amp = np.take_along_axis(dev, kpk[:, None, :], axis=1)[:, 0, :]
    best = np.argmax(amp, axis=1)
    p_peak = idx[np.arange(nb), kpk[np.arange(nb), best]]
    # Noise in the P window: high-frequency residue (what a P wave must stand out from).
    hf = xs - xl
    nidx, nvalid = _windows(qrs_on, p_lo, -int(30 * ms), n)
    noise = np.sqrt(np.mean(np.where(nvalid[:, :, None], hf[nidx] ** 2, 0.0), axis=1))[np.arange(nb), best]
    pamp = amp[np.arange(nb), best]
    p_present = (pamp >= 0.04) & (pamp >= 4.0 * noise) & (p_peak < qrs_on - int(40 * ms))
    w_p = max(2, int(round(50 * ms)))
    area_on = _area_curve(xl, w_p, forward=True)
    area_off = _area_curve(xl, w_p, forward=False)
    p_on = np.full(nb, -1, dtype=np.int64)
    p_off = np.full(nb, -1, dtype=np.int64)
    idx_on, v_on = _windows(p_peak, -int(130 * ms), 0, n)
    idx_off, v_off = _windows(p_peak, 1, int(110 * ms), n)
    v_off &= idx_off < qrs_on[:, None]
    for lead in np.unique(best):
        sel = best == lead
        p_on[sel] = _pick(area_on[:, lead], idx_on[sel], v_on[sel])
        p_off[sel] = _pick(area_off[:, lead], idx_off[sel], v_off[sel])
    p_on = np.where(p_present, p_on, -1)
    p_off = np.where(p_present, p_off, -1)
    p_peak = np.where(p_present, p_peak, -1)
    return Boundaries(
        p_on, p_peak, p_off, qrs_on.astype(np.int64), qrs_off.astype(np.int64), t_peak, t_off, p_present
    )
