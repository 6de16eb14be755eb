"""Wave boundaries (P on/off, QRS on/off, T end) per beat, vectorised over all beats and leads.

QRS: a multi-lead slope "activity" curve (|derivative| normalised per lead, averaged over the usable leads);
the QRS starts where the activity last stayed below a fraction of its QRS peak (above the beat's own
isoelectric floor) for a hold time and ends where it first does so again. Onset and offset use their own
smoothing and hold time: the onset needs a short hold (the Q wave follows the PR segment closely), the offset
a long one (a slurred S wave or an early ST slope must not end the QRS); activity that soon rises again and
stays up (the wide complex after a pacing spike) resumes the QRS. The offset's peak is the largest activity from
the QRS onset to 60 ms after R, so that a detector mark on a late wave of a wide complex (the slow wave after a
pacing spike) does not lower the threshold into the ST segment; the T and P searches keep the offset set by the
peak within 60 ms of R, so per-beat P-wave presence does not depend on this.

P and T, per lead then fused: the wave peak is found in a window bounded by the neighbouring waves (T: after
QRS offset, before most of the next RR; P: after the previous T end, before QRS onset). P and T peaks are the
most prominent deflection (the sample that stands out most from the window on both sides), so that a depressed
or elevated ST segment, the largest deviation from the PR level but no peak, does not take the place of a later,
smaller T wave, nor a baseline step that of the P wave. Whether there is a P wave at all is still decided on the
largest deflection from the isoelectric level. T end and P onset come from the
trapezium-area method (Vazquez-Seisdedos et al. 2011): from the steepest point of the wave's outer flank, the
boundary is the point that maximises the area of the trapezium it spans with a fixed far point; P offset from
the area method (Zhang). The T end is also kept before the next beat's P wave. Where the T "peak" of a lead is
a trough (or peak) that barely stands out from the ST segment sloping into it, and the signal then swings much
further into the opposite direction and comes back, that trough is the bottom of a depressed, sloping ST segment
(or the first phase of a biphasic T) and the lead's T end is taken after the later deflection. Leads are fused
by the median over the leads where the wave is clear. The next beat's P window still starts after the T end
without that late-phase rule (the P-wave findings do not depend on it).

Per beat, a T end or P onset on which the leads that show the wave disagree by much is withheld (-1): no single
boundary is right for both, and the QT Database annotators then follow one lead or the other. The median beat
(withhold=False) keeps both, as its QT and PR are measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal

from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt

# Numeric settings chosen on half A (even-indexed records) of the QT Database; see BENCHMARKS.md. Half A has no
# paced QRS and no rate fast enough for T_NEXT_MS to act: QRS_RESUME_MS and QRS_BURST_MS are the setting tried
# there that leaves its marked beats unchanged, T_NEXT_MS comes from the shortest normal PR interval.
QRS_ON_FRAC = 0.08  # of the activity rise above the beat's own floor
QRS_OFF_FRAC = 0.12
QRS_ON_SMOOTH_MS = 16.0  # moving average of the activity curve for the onset
QRS_OFF_SMOOTH_MS = 8.0
QRS_ON_HOLD_MS = 12.0  # the activity must stay below the threshold this long
QRS_OFF_HOLD_MS = 32.0
QRS_ON_LEAD_MS = 6.0  # the threshold crossing lags the first visible deflection by about this much
QRS_RESUME_MS = 60.0  # activity rising again this soon after the QRS offset ...
QRS_BURST_MS = 40.0  # ... and staying above the threshold this long is still the QRS
QRS_MAX_MS = 200.0  # the QRS offset lies at most this long after R
QRS_ON_SEARCH_MS = 160.0  # and its onset at most this long before R
P_AREA_MS = 90.0  # width of the area window for P offset
P_TRAP_MS = 60.0  # trapezium far point, from the steepest point of the P upslope
T_TRAP_MS = 120.0  # trapezium far point, from the steepest point of the T downslope
T_TAIL_MS = 160.0  # T end at most this long after the T peak
T_NEXT_MS = 160.0  # and this long before the next R: the next P wave starts at least a short PR before it
T_PROM_MV = 0.03  # a T peak less prominent than this (mV) is no peak: the largest deflection from the PR level
T_LEAD_FRAC = 0.5  # a lead takes part in T-end fusion if its T is at least this fraction of the largest
P_LEAD_FRAC = 0.7  # of the most prominent P wave's prominence
P_PROM_MV = 0.03  # a P peak less prominent than this: the largest deflection from the isoelectric level
P_EDGE_MS = 25.0  # a P peak this close to its window's start is the previous T wave's tail,
P_EDGE_RR_S = 0.6  # except at rates of 100/min and more, where the P wave follows the T wave without a gap
P_MIN_MS = 40.0  # narrower "P waves" are T-wave tails or noise
T_RR = 0.6  # T peak before 60 % of the next RR: later than that is usually the next P wave
T_LATE_MS = 250.0  # a later, opposite T phase peaks at most this long after the first (and before t_max) ...
T_LATE_SWING = 3.0  # ... swings at least this many times the first phase's prominence ...
T_LATE_FALL = 0.2  # ... and comes back by at least this fraction of its swing
# A T end or P onset is not reported (left at -1) where the leads that show the wave disagree on it: the spread
# of their boundaries (two or three leads: their range; more: the range of the middle half) exceeds this. The
# settings withhold at most 5 % of half A's marked boundaries, the lowest half-A SD under that cap.
T_SPLIT_MS = 85.0
T_SPLIT_FRAC = 0.3  # a lead shows the T wave: at least this fraction of the largest, and > 0.03 mV
P_SPLIT_MS = 40.0
P_SPLIT_FRAC = 0.5  # of the most prominent P wave, and at least P_PROM_MV


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
    return sosfiltfilt(sos, x)


def _windows(center: np.ndarray, start: int, stop: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    offs = np.arange(start, stop)
    idx = center[:, None] + offs[None, :]
    valid = (idx >= 0) & (idx < n)
    return np.clip(idx, 0, n - 1), valid


class _AreaBefore:
    """A(t) = sum over the w samples before t (and t itself) of x(j) - x(t), per lead, evaluated only at the
    samples asked for: from one running sum over the record, each value the same arithmetic as when A is
    computed for every sample (c[t+1] - c[t-w] - (w+1) x(t); near the start c[t+1] - (t+1) x(t)).
    x_t: the signal lead-major (leads, samples), C-contiguous."""

    def __init__(self, x_t: np.ndarray, w: int) -> None:
        n = x_t.shape[1]
        c = np.empty((x_t.shape[0], n + 1))
        c[:, 0] = 0.0
        np.cumsum(x_t, axis=1, out=c[:, 1:])
        self.x, self.c, self.w, self.n = x_t, c, min(w, n - 1), n

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        """A at idx (..., leads): sample indices in [0, n), one column per lead."""
        w = self.w
        full = idx >= w
        hi = gather.per_lead(self.c, idx + 1)
        s = np.where(full, hi - gather.per_lead(self.c, np.maximum(idx - w, 0)), hi)
        cnt = np.where(full, float(w + 1), (idx + 1).astype(np.float64))
        return s - cnt * gather.per_lead(self.x, idx)


def _wave(
    xl: np.ndarray,
    base: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    max_len: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beat and lead: peak index, signed amplitude (vs base) of the largest deflection in [lo, hi)."""
    n, n_leads = xl.shape
    nb = lo.size
    idx, valid = _windows(lo, 0, max_len, n)
    valid &= idx < hi[:, None]
    dev = gather.rows(xl, idx)
    dev -= base[:, None, :]  # (nb, win, leads)
    mag = np.abs(dev)
    mag[~valid] = -1.0
    k = np.argmax(mag, axis=1)  # (nb, leads)
    amp = np.take_along_axis(dev, k[:, None, :], axis=1)[:, 0, :]
    has = np.asarray(valid.any(axis=1), dtype=bool)
    amp = np.where(has[:, None], amp, 0.0)
    peak = np.take_along_axis(np.broadcast_to(idx[:, :, None], (nb, idx.shape[1], n_leads)), k[:, None, :], axis=1)[
        :, 0, :
    ]
    return peak, amp, has


def _prominent(
    xl: np.ndarray, base: np.ndarray, lo: np.ndarray, hi: np.ndarray, max_len: int, min_prom: float = T_PROM_MV
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beat and lead: index and signed prominence of the most prominent peak or trough in [lo, hi).

    Prominence of a sample: how far it stands above (below) the lowest (highest) sample of the window on
    each side, the smaller of the two. A monotone stretch, such as an ST segment running from the QRS into
    the T wave, has none. Where no sample is more prominent than min_prom (the wave peaks at or beyond
    the window's edge), the largest deflection from base, as _wave, and its signed amplitude instead.
    """
    n = xl.shape[0]
    last = np.minimum(hi, n) - 1
    has = last >= lo
    # Samples past the window's end repeat its last sample: they change no running minimum or maximum and score
    # 0, after the window's own samples, so columns past the longest window are left out (same result).
    max_len = min(max_len, max(int((last - lo).max(initial=0)) + 1, 1))
    idx = np.minimum(lo[:, None] + np.arange(max_len)[None, :], np.maximum(last, 0)[:, None])
    y = gather.rows(xl, idx).astype(np.float32)  # (nb, win, leads)
    up = np.minimum(y - np.minimum.accumulate(y, axis=1), y - np.minimum.accumulate(y[:, ::-1], axis=1)[:, ::-1])
    dn = np.maximum.accumulate(y, axis=1) - y
    np.minimum(dn, np.maximum.accumulate(y[:, ::-1], axis=1)[:, ::-1] - y, out=dn)
    score = np.maximum(up, dn)
    k = np.argmax(score, axis=1)[:, None, :]  # (nb, 1, leads); the first of equal scores, inside the window
    prom = np.take_along_axis(score, k, axis=1)[:, 0, :].astype(np.float64)
    sign = np.where(np.take_along_axis(up >= dn, k, axis=1)[:, 0, :], 1.0, -1.0)
    flat = prom <= min_prom
    # The largest deflection from base, only for the beats that need it (no sample prominent enough).
    some = np.flatnonzero(flat.any(axis=1))
    dev = y[some] - base[some, None, :].astype(np.float32)
    kd = np.zeros_like(k)
    kd[some] = np.argmax(np.abs(dev), axis=1)[:, None, :]
    k = np.where(flat[:, None, :], kd, k)
    dev_kd = np.zeros(flat.shape, dtype=np.float64)
    dev_kd[some] = np.take_along_axis(dev, kd[some], axis=1)[:, 0, :]
    amp = np.where(flat, dev_kd, sign * prom)
    amp = np.where(has[:, None], amp, 0.0)
    peak = np.take_along_axis(np.broadcast_to(idx[:, :, None], y.shape), k, axis=1)[:, 0, :]
    return peak, amp, has


def _boundary(area: _AreaBefore, start: np.ndarray, stop: np.ndarray, max_len: int, sign: np.ndarray) -> np.ndarray:
    """Per beat and lead: argmax over [start, stop) of sign * area; start/stop (nb, leads)."""
    n = area.n
    offs = np.arange(max_len)
    idx = start[:, None, :] + offs[None, :, None]  # (nb, win, leads)
    valid = (idx < stop[:, None, :]) & (idx >= 0) & (idx < n)
    idxc = np.clip(idx, 0, n - 1)
    vals = area(idxc) * sign[:, None, :]
    vals = np.where(valid, vals, -np.inf)
    k = np.argmax(vals, axis=1)
    return np.take_along_axis(idxc, k[:, None, :], axis=1)[:, 0, :]


def _trapezium(
    xl_t: np.ndarray, pk: np.ndarray, limit: np.ndarray, sign: np.ndarray, far: int, max_len: int, forward: bool
) -> np.ndarray:
    """Trapezium-area boundary after (forward) or before the wave peak, per beat and lead.

    xl_t: the low-passed signal lead-major (leads, samples). pk, limit, sign: (nb, leads). xm is the steepest
    point of the flank between pk and limit, xr lies `far` samples beyond it; the boundary is the xi in
    [xm, xr] (and within limit) that maximises the area (y(xm) - y(xi)) * (2 xr - xi - xm) / 2, with y oriented
    so the wave is positive.
    """
    n = xl_t.shape[1]
    step = 1 if forward else -1
    # Columns past the farthest limit are never inside; one more is kept so that the last inside sample's
    # gradient stays the central difference.
    reach = (limit - pk) if forward else (pk - limit)
    max_len = min(max_len, max(int(reach.max(initial=0)) + 2, 2))
    offs = np.arange(max_len)[None, :, None]
    idx = pk[:, None, :] + step * offs  # (nb, win, leads)
    inside = (idx >= 0) & (idx < n) & ((idx <= limit[:, None, :]) if forward else (idx >= limit[:, None, :]))
    idxc = np.clip(idx, 0, n - 1)
    y = gather.per_lead(xl_t, idxc) * sign[:, None, :]
    fall = -np.gradient(y, axis=1)  # the wave falls away from its peak in the direction of travel
    km = np.argmax(np.where(inside, fall, -np.inf), axis=1)[:, None, :]
    ym = np.take_along_axis(y, km, axis=1)
    kr = km + far
    area = (ym - y) * ((2 * kr - km) - offs)  # integers: the same factor as 2 * kr - offs - km
    ok = inside & (offs >= km) & (offs <= kr)
    k = np.argmax(np.where(ok, area, -np.inf), axis=1)
    return pk + step * k


def _median(pos: np.ndarray, part: np.ndarray) -> np.ndarray:
    """Median boundary over the participating leads, per beat; -1 where none."""
    k = part.sum(axis=1)
    v = np.sort(np.where(part, pos, np.iinfo(np.int64).max), axis=1)  # participating leads first
    lo = np.take_along_axis(v, np.maximum(k - 1, 0)[:, None] // 2, axis=1)[:, 0]
    hi = np.take_along_axis(v, (k // 2)[:, None], axis=1)[:, 0]
    return np.where(k > 0, (lo + hi) // 2, -1).astype(np.int64)


def _fuse_t_end(t_end: np.ndarray, stop: np.ndarray, a: np.ndarray) -> np.ndarray:
    """T end per beat: median over the leads whose T is at least T_LEAD_FRAC of the largest (a: (nb, leads))."""
    part = (a >= T_LEAD_FRAC * a.max(axis=1)[:, None]) & (a > 0.03)
    # A T end pinned to the end of its search window found no end there: leave that lead out when another
    # lead has a clear one.
    clear = part & (t_end < stop)
    part = np.where(clear.any(axis=1)[:, None], clear, part)
    return _median(t_end, part)


def _split(pos: np.ndarray, clear: np.ndarray) -> np.ndarray:
    """Per beat: spread of pos over the clear leads (two or three: their range; more: the middle half's)."""
    k = clear.sum(axis=1)
    v = np.sort(np.where(clear, pos, np.iinfo(np.int64).max), axis=1)  # clear leads first
    lo = np.take_along_axis(v, (k // 4)[:, None], axis=1)[:, 0]
    hi = np.take_along_axis(v, np.maximum(k - 1 - k // 4, 0)[:, None], axis=1)[:, 0]
    return np.where(k >= 2, hi - lo, 0)


def _late_phase(
    xl_t: np.ndarray, pk: np.ndarray, amp: np.ndarray, t_max: np.ndarray, ms: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per beat and lead: T end on a later, opposite deflection that is the T wave proper.

    A trough (or peak) that stands out little from the ST segment before it (its prominence, |amp|) but from
    which the signal swings at least T_LATE_SWING times as far into the opposite direction within
    T_LATE_MS, and comes back from there by at least T_LATE_FALL of that swing, is the bottom of a sloping
    ST segment (or the first phase of a biphasic T); the annotators end the T wave after the later
    deflection. Returns that deflection's trapezium end, its search limit, and where the rule applies (the
    end must lie before the limit: a later phase with no end of its own is no T wave).
    """
    n = xl_t.shape[1]
    sign = np.sign(amp)
    w = max(2, int(round(T_LATE_MS * ms)))
    offs = np.arange(w)[None, :, None]
    idx = pk[:, None, :] + offs  # (nb, win, leads)
    inside = (idx <= np.minimum(pk + w - 1, t_max[:, None])[:, None, :]) & (idx < n)
    y = -sign[:, None, :] * gather.per_lead(xl_t, np.clip(idx, 0, n - 1))  # later phase up
    kq = np.argmax(np.where(inside, y, -np.inf), axis=1)  # (nb, leads)
    yq = np.take_along_axis(y, kq[:, None, :], axis=1)[:, 0, :]
    swing = yq - y[:, 0, :]
    after = np.where(inside & (offs >= kq[:, None, :]), y, np.inf)
    # min along the window axis of a lead-major copy: the same values, without numpy's slow reduction along a
    # middle axis with few leads innermost
    back = yq - np.ascontiguousarray(after.transpose(0, 2, 1)).min(axis=-1)
    q = pk + kq
    stop = np.minimum(q + int(T_TAIL_MS * ms), t_max[:, None])
    late = (sign != 0) & (kq > 0) & (swing >= T_LATE_SWING * np.abs(amp)) & (back >= T_LATE_FALL * swing)
    end = np.full_like(q, -1)
    rows = np.flatnonzero(late.any(axis=1))  # few beats: the trapezium only where the rule may apply
    if rows.size:
        far = int(round(T_TRAP_MS * ms))
        end[rows] = _trapezium(xl_t, q[rows], stop[rows], -sign[rows], far, int(300 * ms), forward=True)
    late &= end < stop
    return end, stop, late


@dataclass
class _Activity:
    """What one QRS edge search reads: the smoothed activity over the record and the windows of its two
    running extremes, each evaluated only where it is read (see _running): the maximum over the hold time
    (after t for the offset, before it for the onset) and, for the offset, the minimum over QRS_BURST_MS.
    Built once per edge kind: the offset search runs twice (all beats, then the wide ones)."""

    act: np.ndarray
    hold: int  # samples of the running maximum
    hold_from: int  # its window starts this many samples from t
    burst: int  # samples of the running minimum (offset), after t


def _activity(dm: np.ndarray, ms: float, smooth_ms: float, hold_ms: float, onset: bool) -> _Activity:
    act = ndimage.uniform_filter1d(dm, max(1, int(round(smooth_ms * ms))), mode="nearest")
    w = max(2, int(round(hold_ms * ms)))
    return _Activity(act, w, -(w - 1) if onset else 0, max(2, int(round(QRS_BURST_MS * ms))))


def _running(a: np.ndarray, first: np.ndarray, length: int, w: int, start: int, op: np.ufunc) -> np.ndarray:
    """(rows, length): op (np.maximum or np.minimum) over a[t + start : t + start + w], indices clipped to a,
    for t = first + 0 .. first + length - 1 per row: ndimage's maximum/minimum_filter1d(a, w, origin=
    -(w // 2) - start, mode="nearest")[t], the same values, from the windows read instead of the whole record
    (where t itself lies outside a, the callers ignore the value)."""
    g = gather.at(a, np.clip(first[:, None] + start + np.arange(length + w - 1)[None, :], 0, a.size - 1))
    span = 1  # g[:, i] holds op over the `span` samples from column i (doubling, as in a sparse table)
    while 2 * span <= w:
        g = op(g[:, :-span], g[:, span:])
        span *= 2
    return op(g[:, :length], g[:, w - span : w - span + length])


def _qrs_edge(
    curves: _Activity,
    r: np.ndarray,
    ms: float,
    frac: float,
    onset: bool,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """QRS onset (last quiet stretch before R) or offset (first quiet stretch after R) on the activity curves
    (see _activity; onset: built with onset=True).

    start (offset only): the QRS onset per beat; the activity peak that sets the threshold is also looked for
    from there to R, not only within 60 ms of R.
    """
    act = curves.act
    n = act.size

    def quiet_at(first: np.ndarray, length: int) -> np.ndarray:  # the running maximum over the hold time
        return _running(act, first, length, curves.hold, curves.hold_from, np.maximum)

    rows = np.arange(r.size)
    idx, valid = _windows(r, -int(60 * ms), int(60 * ms) + 1, n)
    peak = np.max(np.where(valid, act.take(idx), 0.0), axis=1)
    if start is not None:
        # The detector may mark a late wave of a wide complex (the slow wave after a pacing spike, more than
        # 60 ms after it): the steeper start of the QRS then sets the peak, else the threshold falls so low
        # that the QRS "ends" well into the ST segment.
        si, sv = _windows(r, -int((QRS_ON_SEARCH_MS + QRS_ON_LEAD_MS) * ms), 1, n)
        sv &= si >= start[:, None]
        peak = np.maximum(peak, np.max(np.where(sv, act.take(si), 0.0), axis=1))
    # Floor: the quietest activity before the QRS (noise and baseline slope are not QRS).
    fi, fv = _windows(r, -int(250 * ms), -int(60 * ms), n)
    floor = np.min(np.where(fv, act.take(fi), np.inf), axis=1)
    floor = np.where(np.isfinite(floor), np.minimum(floor, 0.5 * peak), 0.0)
    thr = (floor + frac * (peak - floor))[:, None]
    if onset:
        idx, valid = _windows(r, -int(QRS_ON_SEARCH_MS * ms), 1, n)
        below = valid & (quiet_at(r - int(QRS_ON_SEARCH_MS * ms), idx.shape[1]) < thr)
        last = idx.shape[1] - 1 - np.argmax(below[:, ::-1], axis=1)
        return np.where(below.any(axis=1), idx[rows, last], r - int(50 * ms))
    end = r + int(QRS_MAX_MS * ms)
    idx, valid = _windows(r, 0, int(QRS_MAX_MS * ms) + 1, n)
    below = valid & (quiet_at(r, idx.shape[1]) < thr)
    found = below.any(axis=1)
    off = np.where(found, idx[rows, np.argmax(below, axis=1)], r + int(60 * ms))
    # A paced QRS: the pacing spike sets the activity peak, and the slow, wide complex after it can dip below
    # the threshold for a moment before rising again for most of its length. Sustained activity soon after the
    # first quiet stretch resumes the QRS; the offset is then the next quiet stretch within the QRS window.
    bi, bv = _windows(off, 1, int(QRS_RESUME_MS * ms) + 1, n)
    busy = _running(act, off + 1, bi.shape[1], curves.burst, 0, np.minimum)  # minimum over QRS_BURST_MS
    burst = bv & (busy > thr) & (bi < end[:, None])
    t1 = bi[rows, np.argmax(burst, axis=1)]
    qi, qv = _windows(t1, 0, int(QRS_MAX_MS * ms) + 1, n)
    qb = qv & (quiet_at(t1, qi.shape[1]) < thr) & (qi <= end[:, None])
    resume = found & burst.any(axis=1) & qb.any(axis=1)
    return np.where(resume, qi[rows, np.argmax(qb, axis=1)], off)


def delineate(
    xf: np.ndarray,
    fs: float,
    r: np.ndarray,
    lead_ok: np.ndarray | None = None,
    rr_s: float | None = None,
    withhold: bool = True,
) -> Boundaries:
    """Boundaries for beats at samples r of the prepared signal xf (n, leads).

    rr_s: the RR interval to assume around a lone beat (median beat); otherwise taken from r.
    withhold: leave a beat's T end or P onset out (-1) where the leads that show the wave clearly disagree
    on it (see T_SPLIT_MS, P_SPLIT_MS); p_present and every other boundary are the same either way.
    """
    n, n_leads = xf.shape
    r = np.asarray(r, dtype=np.int64)
    nb = r.size
    empty = np.full(nb, -1, dtype=np.int64)
    if nb == 0:
        return Boundaries(empty, empty, empty, empty, empty, empty, empty, np.zeros(0, bool))
    ok = np.ones(n_leads, bool) if lead_ok is None or not np.any(lead_ok) else np.asarray(lead_ok, bool)
    ms = fs / 1000.0
    xs = xf[:, ok]
    rows = np.arange(nb)

    # --- QRS: multi-lead activity
    d = np.abs(np.gradient(xs, axis=0))
    # Scale from every 4th sample: the same 99th percentile for a quarter of the sort.
    d /= np.maximum(np.percentile(d[::4], 99, axis=0), 1e-12)
    dm = d.mean(axis=1)
    qrs_on = _qrs_edge(_activity(dm, ms, QRS_ON_SMOOTH_MS, QRS_ON_HOLD_MS, True), r, ms, QRS_ON_FRAC, onset=True)
    qrs_on -= int(round(QRS_ON_LEAD_MS * ms))
    off_curves = _activity(dm, ms, QRS_OFF_SMOOTH_MS, QRS_OFF_HOLD_MS, False)
    t_from = _qrs_edge(off_curves, r, ms, QRS_OFF_FRAC, onset=False)
    # A higher peak (from the QRS onset on) can only end the QRS earlier; where the paced-complex resumption then
    # carries it further, into the T wave, the offset stays as it was.
    qrs_off = t_from.copy()
    wide = np.flatnonzero(qrs_on < r - int(60 * ms))  # elsewhere the peak is the one within 60 ms of R
    if wide.size:
        early = _qrs_edge(off_curves, r[wide], ms, QRS_OFF_FRAC, onset=False, start=qrs_on[wide])
        qrs_off[wide] = np.minimum(early, t_from[wide])

    if rr_s is not None:
        rr_next = np.full(nb, int(rr_s * fs), dtype=np.int64)
        rr_prev = rr_next
    else:
        rr_next = np.diff(r, append=r[-1] + int(fs))
        rr_prev = np.diff(r, prepend=r[0] - int(fs))

    # 15-Hz low-pass for P and T (their energy is below it; what is above is noise here).
    sos = signal.butter(2, min(15.0, 0.45 * fs), btype="lowpass", fs=fs, output="sos")
    # Sample-major and lead-major contiguous copies: windows are gathered from them many times over.
    xl = np.ascontiguousarray(sosfiltfilt(sos, xs))
    xl_t = np.ascontiguousarray(xl.T)

    # --- T wave
    # The T (and so the next P) search starts after the offset set by the peak within 60 ms of R alone: the
    # per-beat P-wave presence, which the beat classifier is trained on, stays as it was.
    t_lo = t_from + int(80 * ms)
    t_hi = np.minimum(r + (T_RR * rr_next).astype(np.int64), t_from + int(500 * ms))
    base = xl[np.clip(qrs_on - int(20 * ms), 0, n - 1)]  # (nb, leads) PR-segment level
    t_pk, t_amp, t_ok = _prominent(xl, base, t_lo, t_hi, int(500 * ms))
    t_max = r + np.minimum((0.9 * rr_next).astype(np.int64), rr_next - int(T_NEXT_MS * ms))
    stop = np.minimum(t_pk + int(T_TAIL_MS * ms), t_max[:, None])
    t_end = _trapezium(xl_t, t_pk, stop, np.sign(t_amp), int(round(T_TRAP_MS * ms)), int(300 * ms), forward=True)
    a = np.abs(t_amp)
    amax = a.max(axis=1)
    t_found = t_ok & (amax > 0.03)
    late_end, late_stop, late = _late_phase(xl_t, t_pk, t_amp, t_max, ms)
    # The P window is still bounded by the T end before the late-phase rule (it decides which P waves are found).
    p_bound = np.where(t_found, _fuse_t_end(t_end, stop, a), -1)
    t_fin, t_lim = np.where(late, late_end, t_end), np.where(late, late_stop, stop)
    t_off = np.where(t_found, _fuse_t_end(t_fin, t_lim, a), -1)
    if withhold:
        # The leads that show the T wave clearly end it far apart: no single T end is right for all of them.
        seen_t = (a >= T_SPLIT_FRAC * amax[:, None]) & (a > 0.03)
        unpinned = seen_t & (t_fin < t_lim)  # a lead whose end is pinned to its limit found no end
        seen_t = np.where(unpinned.any(axis=1)[:, None], unpinned, seen_t)
        t_off = np.where(_split(t_fin, seen_t) > T_SPLIT_MS * ms, -1, t_off)
    best = np.argmax(a, axis=1)
    t_peak = np.where(t_found, t_pk[rows, best], -1)

    # --- P wave: after the previous beat's T end (or 60 % of the RR when it has none), before QRS onset
    # For a lone (median) beat the previous T end is its own T end one RR earlier.
    prev_t = np.concatenate([[-1], p_bound[:-1]]) if rr_s is None else np.where(p_bound > 0, p_bound - rr_prev, -1)
    lim = np.maximum(r - (0.6 * rr_prev).astype(np.int64), qrs_on - int(300 * ms))
    p_lo = np.where(prev_t > 0, np.maximum(prev_t + int(20 * ms), lim), lim)
    p_hi = qrs_on - int(20 * ms)
    # Isoelectric level of the P window = its median (the P wave fills a minority of it); the PR level just
    # before the QRS can still hold the P wave's tail and flip which deflection looks largest.
    bi, bv = _windows(p_lo, 0, int(300 * ms), n)
    bv &= bi < p_hi[:, None]
    srt = np.sort(np.where(bv[:, :, None], gather.rows(xl, bi), np.inf), axis=1)  # invalid samples sort last
    cnt = bv.sum(axis=1)
    base_p = np.take_along_axis(srt, np.maximum(cnt - 1, 0)[:, None, None] // 2, axis=1)[:, 0, :]
    base_p = np.where((cnt > 0)[:, None], base_p, xl[np.clip(qrs_on - int(10 * ms), 0, n - 1)])
    nidx, nvalid = _windows(qrs_on, -int(300 * ms), -int(20 * ms), n)
    hf = gather.rows(xs, nidx) - gather.rows(xl, nidx)  # what the 15-Hz low-pass removed, where it is measured
    noise = np.sqrt(np.mean(np.where(nvalid[:, :, None], hf**2, 0.0), axis=1))  # (nb, leads)
    area_off = _AreaBefore(xl_t, max(2, int(round(P_AREA_MS * ms))))
    edge = p_lo + np.where(rr_prev >= P_EDGE_RR_S * fs, int(P_EDGE_MS * ms), 0)

    def stands_out(pk: np.ndarray, amp: np.ndarray, has: np.ndarray) -> np.ndarray:
        """Per beat and lead: the deflection at pk stands out from the noise, away from the window's edges."""
        a = np.abs(amp)
        return (
            has[:, None]
            & (a >= 0.04)
            & (a >= 4.0 * noise)
            & (pk < (qrs_on - int(40 * ms))[:, None])
            & (pk > edge[:, None])
        )

    # Whether there is a P wave: the largest deflection from the isoelectric level is clear in some lead.
    # Where it lies: the most prominent deflection, as for T. A step in the baseline (the previous T wave's
    # tail, a clipped lead) deviates most from the window's median but is no peak, and its onset pulled the
    # median of the leads' onsets tens of ms early. The prominent peak alone also found P waves that the
    # largest deflection rejects, with more wild onsets than right ones: hence both.
    w_pk, w_amp, w_ok = _wave(xl, base_p, p_lo, p_hi, int(300 * ms))
    seen = stands_out(w_pk, w_amp, w_ok).any(axis=1)
    p_pk, p_amp, p_ok = _prominent(xl, base_p, p_lo, p_hi, int(300 * ms), P_PROM_MV)
    sp = np.sign(p_amp)
    on_lim = np.maximum(p_pk - int(130 * ms), p_lo[:, None] - int(20 * ms))
    on = _trapezium(xl_t, p_pk, on_lim, sp, int(round(P_TRAP_MS * ms)), int(130 * ms), forward=False)
    off = _boundary(area_off, p_pk + 1, np.broadcast_to(qrs_on[:, None], p_pk.shape), int(130 * ms), sp)
    lead_p = stands_out(p_pk, p_amp, p_ok & seen) & ((off - on) >= int(P_MIN_MS * ms))
    pa = np.abs(p_amp)
    pmax = np.where(lead_p, pa, 0.0).max(axis=1)
    part = lead_p & (pa >= P_LEAD_FRAC * pmax[:, None])
    p_present = part.any(axis=1)
    p_on = np.where(p_present, _median(on, part), -1)
    if withhold:
        # The leads with a clear P wave start it far apart (a P wave merging with the T wave in one lead).
        # A lead counts when its P deflection is a fair part of the clearest one, even where it does not stand
        # out on its own: a P wave found in one lead and elsewhere in the other is no clear P onset.
        seen_p = (p_ok & seen)[:, None] & (pa >= P_SPLIT_FRAC * pmax[:, None]) & (pa >= P_PROM_MV)
        p_on = np.where(_split(on, seen_p) > P_SPLIT_MS * ms, -1, p_on)
    p_off = np.where(p_present, _median(off, part), -1)
    pb = np.argmax(np.where(lead_p, pa, -1.0), axis=1)
    p_peak = np.where(p_present, p_pk[rows, pb], -1)
    return Boundaries(
        p_on.astype(np.int64),
        p_peak.astype(np.int64),
        p_off.astype(np.int64),
        qrs_on.astype(np.int64),
        qrs_off.astype(np.int64),
        t_peak.astype(np.int64),
        t_off.astype(np.int64),
        p_present,
    )
