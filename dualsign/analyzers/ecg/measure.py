"""Measurements from the representative (median) beat: intervals, QTc, axes, ST at J+60, amplitudes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.delineate import Boundaries, delineate
from dualsign.analyzers.ecg.fastmedian import median0

# The terminal part of a wide QRS left out of its initial-forces axis ("ignore the terminal 0.08 s" in RBBB).
TERMINAL_MS = 80.0


@dataclass
class MedianBeat:
    beat: np.ndarray  # (n_window, leads)
    r_index: int  # R position inside the window
    bounds: Boundaries  # one beat, indices inside the window
    n_beats: int
    # Same window from the unfiltered signal, for amplitudes and ST: only the rows measurements() reads
    # (st_rows()) are filled, the others are NaN.
    wide: np.ndarray | None = None


def median_beat(
    xf: np.ndarray,
    fs: float,
    r: np.ndarray,
    use: np.ndarray,
    lead_ok: np.ndarray,
    x_raw: np.ndarray | None = None,
) -> MedianBeat | None:
    """Median of the dominant (normal-class, well-correlated) beats, window -0.45 s .. +0.65 s around R."""
    sel = r[use]
    if sel.size < 2:
        sel = r
    if sel.size == 0:
        return None
    pre, post = int(0.45 * fs), int(0.65 * fs)
    sel = sel[(sel - pre >= 0) & (sel + post < xf.shape[0])]
    if sel.size == 0:
        return None
    idx = sel[:, None] + np.arange(-pre, post)[None, :]
    beat = median0(gather.rows(np.ascontiguousarray(xf), idx))  # (win, leads)
    # Delineate the median beat as one beat whose neighbours are at the record's median RR, so the T and
    # P search windows are those a beat of this record gets. The QT and PR need the T end and P onset even where
    # the leads disagree on them (the per-beat output leaves such boundaries out; the median fuses the leads).
    rr_s = float(np.median(np.diff(r))) / fs if r.size >= 2 else 1.0
    b = delineate(beat, fs, np.array([pre]), lead_ok, rr_s=rr_s, withhold=False)
    wide = None
    if x_raw is not None:
        # Amplitudes and ST need the full bandwidth (the 40-Hz low-pass shaves 5-15 % off narrow R waves and
        # the 0.5-Hz high-pass bends the ST segment); each beat is levelled on its own PR segment instead.
        lv = gather.rows(x_raw, idx[:, pre - int(0.1 * fs) : pre - int(0.06 * fs)]).mean(axis=1, keepdims=True)
        # The median over every beat is the costly part: only the rows that are measured.
        lo, hi = st_rows(int(b.qrs_on[0]), int(b.qrs_off[0]), fs, idx.shape[1])
        wide = np.full((idx.shape[1], x_raw.shape[1]), np.nan)
        wide[lo:hi] = median0(gather.rows(x_raw, idx[:, lo:hi]) - lv)
    return MedianBeat(beat, pre, b, int(sel.size), wide)


def _st_points(q_on: int, q_off: int, ms: float, n: int) -> tuple[int, int, int, int]:
    """(iso_lo, iso_hi, j60, j10) of measurements(): the PR-segment rows, the J+60 ms row, J+10 ms (samples);
    ms: milliseconds per sample."""
    iso_lo, iso_hi = max(0, q_on - int(30 / ms)), max(1, q_on - int(5 / ms))
    return iso_lo, iso_hi, min(n - 1, q_off + int(round(60 / ms))), int(round(10 / ms))


def st_rows(q_on: int, q_off: int, fs: float, n: int) -> tuple[int, int]:
    """[lo, hi): the rows of the n-row median beat that measurements() reads from its wide-band copy."""
    if not 0 <= q_on <= q_off < n:
        return 0, n
    iso_lo, iso_hi, j60, j10 = _st_points(q_on, q_off, 1000.0 / fs, n)
    return min(iso_lo, q_on), min(n, max(iso_hi, j60 + 1, q_off + j10 + 1))


def _axis(x_i: float | None, x_avf: float | None) -> float | None:
    if x_i is None or x_avf is None or (abs(x_i) < 1e-9 and abs(x_avf) < 1e-9):
        return None
    return round(math.degrees(math.atan2(x_avf, x_i)), 0)


def _limb(beat: np.ndarray, names: list[str], lo: int, hi: int) -> tuple[float | None, float | None]:
    """Net area (mV*samples) of leads I and aVF over [lo, hi), deriving them from II/III when missing."""
    if hi <= lo:
        return None, None
    area = {n: float(beat[lo:hi, j].sum()) for j, n in enumerate(names)}
    i_ = area.get("I")
    avf = area.get("aVF")
    if i_ is None and "II" in area and "III" in area:
        i_ = area["II"] - area["III"]
    if avf is None and "II" in area and "III" in area:
        avf = (area["II"] + area["III"]) / 2
    if avf is None and i_ is not None and "II" in area:
        avf = area["II"] - i_ / 2
    return i_, avf


def measurements(
    mb: MedianBeat | None, fs: float, names: list[str], r: np.ndarray, normal: np.ndarray, lead_ok: np.ndarray
) -> dict[str, Any]:
    """All numbers the report shows; None where a quantity cannot be measured."""
    ms = 1000.0 / fs
    m: dict[str, Any] = {
        k: None
        for k in (
            "hr_bpm",
            "rr_mean_ms",
            "rr_sd_ms",
            "rr_min_ms",
            "rr_max_ms",
            "pr_ms",
            "qrs_ms",
            "qt_ms",
            "qtc_bazett_ms",
            "qtc_fridericia_ms",
            "p_axis_deg",
            "qrs_axis_deg",
            "qrs_axis_initial_deg",
            "t_axis_deg",
        )
    }
    m["st_j60_mv"] = {}
    m["st_j_mv"] = {}
    m["qrs_amplitudes_mv"] = {}
    if r.size >= 2:
        rr = np.diff(r) * ms
        m["hr_bpm"] = round(60000.0 / float(np.mean(rr)), 1)
        m["rr_mean_ms"] = round(float(np.mean(rr)), 1)
        m["rr_sd_ms"] = round(float(np.std(rr)), 1)
        m["rr_min_ms"] = round(float(np.min(rr)), 1)
        m["rr_max_ms"] = round(float(np.max(rr)), 1)
    if mb is None:
        return m
    b = mb.bounds
    beat = mb.beat
    q_on, q_off, t_off, p_on = int(b.qrs_on[0]), int(b.qrs_off[0]), int(b.t_off[0]), int(b.p_on[0])
    if p_on >= 0:
        m["pr_ms"] = round((q_on - p_on) * ms)
    m["qrs_ms"] = round((q_off - q_on) * ms)
    rr_n = np.diff(r) * ms
    rr_dom = float(np.median(rr_n)) if rr_n.size else None
    if t_off > q_off:
        qt = (t_off - q_on) * ms
        m["qt_ms"] = round(qt)
        if rr_dom:
            rr_s = rr_dom / 1000.0
            m["qtc_bazett_ms"] = round(qt / math.sqrt(rr_s))
            m["qtc_fridericia_ms"] = round(qt / rr_s ** (1 / 3))
    m["qrs_axis_deg"] = _axis(*_limb(beat, names, q_on, q_off + 1))
    if (q_off - q_on) * ms >= 120:
        # A wide QRS's delayed terminal forces are left out of the frontal axis where a bundle branch block is read
        # (RBBB's slow right-ventricular S swings the net area right): the axis without the last 80 ms.
        m["qrs_axis_initial_deg"] = _axis(*_limb(beat, names, q_on, q_off + 1 - round(TERMINAL_MS / ms)))
    if p_on >= 0 and b.p_off[0] > p_on:
        m["p_axis_deg"] = _axis(*_limb(beat, names, p_on, int(b.p_off[0]) + 1))
    if t_off > q_off:
        m["t_axis_deg"] = _axis(*_limb(beat, names, q_off, t_off + 1))
    # Isoelectric level: PR segment just before QRS onset.
    if mb.wide is not None:
        beat = mb.wide
    iso_lo, iso_hi, j60, j10 = _st_points(q_on, q_off, ms, beat.shape[0])
    iso = beat[iso_lo:iso_hi].mean(axis=0)
    for j, name in enumerate(names):
        if not lead_ok[j]:
            continue
        m["st_j60_mv"][name] = round(float(beat[j60, j] - iso[j]), 3)
        # ST at the J point (mean of J..J+10 ms, so one sample of QRS-offset jitter does not decide).
        m["st_j_mv"][name] = round(float(beat[q_off : q_off + j10 + 1, j].mean() - iso[j]), 3)
        qrs = beat[q_on : q_off + 1, j] - iso[j]
        if qrs.size:
            m["qrs_amplitudes_mv"][name] = {
                "r": round(float(max(qrs.max(), 0.0)), 3),
                "s": round(float(max(-qrs.min(), 0.0)), 3),
            }
    m["median_beat_count"] = mb.n_beats
    return m
