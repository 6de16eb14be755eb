"""Rhythm episodes from beat times, beat classes, P-wave presence and the AF (rhythm) probabilities.

Vocabulary of `rhythm[].label` (documented in docs/ecg_findings_schema.md):
  SINUS, SINUS_BRADY (< 60/min), SINUS_TACHY (> 100/min)  - atrial activity with P waves
  AF, AFL                                                   - atrial fibrillation / flutter
  SVT                                                       - narrow-complex tachycardia > 150/min, no P waves
  VT (>= 3 consecutive V beats at >= 100/min), VRUN (>= 3 V beats slower: idioventricular run)
  BIGEMINY, TRIGEMINY                                        - >= 3 cycles of N-V / N-N-V
  PAUSE                                                     - an RR interval >= 2.0 s
  NOISE                                                     - a stretch whose beats cannot be trusted
  OTHER                                                     - regular rhythm without identifiable P waves
Episodes of the underlying rhythm tile the record; VT/VRUN/BIGEMINY/TRIGEMINY/PAUSE are overlaid on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dualsign.analyzers.ecg.flutter import FlutterMeasure

PAUSE_S = 2.0
AF_WINDOW_S = 30.0
VT_MIN_BPM = 100.0
# A run's rate is the mean of a few RR intervals (often alternating in VT): within 3 % of 100/min counts as
# VT, the safer reading (MIT-BIH 223 labels a run at 99-100/min VT).
VT_RATE_TOLERANCE = 0.03


@dataclass
class Episode:
    label: str
    start_s: float
    end_s: float
    n_beats: int = 0
    hr_bpm: float | None = None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {
            "label": self.label,
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "n_beats": self.n_beats,
        }
        if self.hr_bpm is not None:
            d["hr_bpm"] = round(self.hr_bpm, 1)
        return d


def analysis_spans(n_samples: int, fs: float) -> list[tuple[int, int]]:
    """Sample spans the atrial rhythm is judged in: a record up to 90 s whole, a longer one in 30-s windows
    (a short tail joins the window before it)."""
    if n_samples <= 90 * fs:
        return [(0, n_samples)]
    step = int(AF_WINDOW_S * fs)
    spans = [(s, min(s + step, n_samples)) for s in range(0, n_samples, step)]
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < 10 * fs:
        spans[-2] = (spans[-2][0], spans[-1][1])
        spans.pop()
    return spans


def af_windows(
    n_samples: int, fs: float, r: np.ndarray, probs_for: Callable[[int, int], dict[str, float]]
) -> tuple[np.ndarray, list[dict[str, float]]]:
    """AF flag per beat, from the rhythm probabilities of each analysis span."""
    af = np.zeros(r.size, dtype=bool)
    all_probs = []
    for a, b in analysis_spans(n_samples, fs):
        p = probs_for(a, b)
        all_probs.append(p)
        if p.get("A", 0.0) >= 0.5 and p.get("A", 0.0) >= max(p.get("N", 0), p.get("O", 0)):
            af[(r >= a) & (r < b)] = True
    return af, all_probs


def afl_windows(
    n_samples: int, fs: float, r: np.ndarray, measure_for: Callable[[int, int], FlutterMeasure | None]
) -> tuple[np.ndarray, list[FlutterMeasure]]:
    """AFL flag per beat and the measures of the spans that met the flutter criteria."""
    afl = np.zeros(r.size, dtype=bool)
    hits: list[FlutterMeasure] = []
    for a, b in analysis_spans(n_samples, fs):
        m = measure_for(a, b)
        if m is not None and m.is_flutter:
            afl[(r >= a) & (r < b)] = True
            hits.append(m)
    return afl, hits


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end] index pairs (inclusive) of True runs."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1) - 1
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def episodes(
    r: np.ndarray,
    fs: float,
    n_samples: int,
    labels: list[str],
    af: np.ndarray,
    p_present: np.ndarray,
    noisy: np.ndarray,
    afl: np.ndarray | None = None,
    normal_span: np.ndarray | None = None,
) -> list[Episode]:
    """afl: flutter flag per beat; it takes precedence over the AF flag (the rhythm model, trained without a
    flutter class, calls flutter with variable conduction AF). normal_span: per beat, the rhythm model rates
    the beat's span normal sinus rhythm; there, P waves too small for the delineator on the leads at hand
    (lead I of a handheld recorder often) do not make the rhythm OTHER."""
    dur = n_samples / fs
    t = r / fs
    n = r.size
    if n < 2:
        return [Episode("NOISE", 0.0, dur, n)]
    rr = np.diff(t)
    lab = np.array(labels)
    # Local heart rate per beat: median RR over +-8 beats.
    rr_b = np.concatenate([[rr[0]], rr])
    k = 8
    pad = np.pad(rr_b, k, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, 2 * k + 1)
    local_hr = 60.0 / np.median(win, axis=1)
    p_local = np.convolve(p_present.astype(float), np.ones(2 * k + 1) / (2 * k + 1), mode="same")
    short = dur <= 90
    if short:
        # One underlying rhythm for a resting ECG: whole-record rate and P-wave fraction.
        local_hr[:] = 60.0 / float(np.median(rr))
        p_local[:] = (
            float(np.mean(p_present[lab == "N"])) if np.any(lab == "N") else float(np.mean(p_present))
        )
    base = np.empty(n, dtype=object)
    for i in range(n):
        if noisy[i]:
            base[i] = "NOISE"
        elif afl is not None and afl[i]:
            base[i] = "AFL"
        elif af[i]:
            base[i] = "AF"
        elif p_local[i] < 0.3 and not (normal_span is not None and normal_span[i] and local_hr[i] <= 150):
            base[i] = "SVT" if local_hr[i] > 150 else "OTHER"
        elif local_hr[i] < 60:
            base[i] = "SINUS_BRADY"
        elif local_hr[i] > 100:
            base[i] = "SINUS_TACHY"
        else:
            base[i] = "SINUS"
    # Smooth: runs shorter than 6 beats take the label of the run before them (long records only).
    if not short:
        # Left to right in one pass per round (a short run joins the already-smoothed run before it); a few
        # rounds settle it, where restarting after every merge was quadratic on 30-min records.
        for _ in range(50):
            runs = _group(base)
            changed = False
            for a, b, _lab in runs[1:]:
                if b - a + 1 < 6 and base[a] != base[a - 1]:
                    base[a : b + 1] = base[a - 1]
                    changed = True
            if not changed:
                break
    out: list[Episode] = []
    for a, b, label in _group(base):
        start = 0.0 if a == 0 else (t[a - 1] + t[a]) / 2
        end = dur if b == n - 1 else (t[b] + t[b + 1]) / 2
        hr = 60.0 / float(np.mean(rr[a:b])) if b > a else None
        out.append(Episode(str(label), float(start), float(end), b - a + 1, hr))
    # Overlays: ventricular runs, bigeminy / trigeminy, pauses.
    for a, b in _runs(lab == "V"):
        if b - a + 1 >= 3:
            hr = 60.0 / float(np.mean(rr[a:b]))
            is_vt = hr >= VT_MIN_BPM * (1.0 - VT_RATE_TOLERANCE)
            out.append(Episode("VT" if is_vt else "VRUN", float(t[a]), float(t[b]), b - a + 1, hr))
    is_v = lab == "V"
    # N V N V N V / N N V N N V N N V ending at beat i (pattern[0] is beat i - len + 1)
    big = _pattern_runs(is_v, np.array([False, True] * 3))
    tri = _pattern_runs(is_v, np.array([False, False, True] * 3))
    for mask, label in ((big, "BIGEMINY"), (tri & ~big, "TRIGEMINY")):
        for a, b in _runs(mask):
            out.append(Episode(label, float(t[a]), float(t[b]), b - a + 1))
    for k_p in np.flatnonzero(rr >= PAUSE_S):
        out.append(Episode("PAUSE", float(t[k_p]), float(t[k_p + 1]), 2))
    out.sort(key=lambda e: (e.start_s, e.label))
    return out


def _pattern_runs(is_v: np.ndarray, pattern: np.ndarray) -> np.ndarray:
    """Beats covered by any occurrence of the V / non-V pattern."""
    k, n = pattern.size, is_v.size
    out = np.zeros(n, bool)
    if n < k:
        return out
    win = np.lib.stride_tricks.sliding_window_view(is_v, k)
    for s in np.flatnonzero((win == pattern).all(axis=1)):
        out[s : s + k] = True
    return out


def _group(base: np.ndarray) -> list[tuple[int, int, str]]:
    """(start, end inclusive, label) of each run of equal labels."""
    if base.size == 0:
        return []
    lab = base.astype(str)
    starts = np.concatenate([[0], np.flatnonzero(lab[1:] != lab[:-1]) + 1])
    ends = np.concatenate([starts[1:] - 1, [base.size - 1]])
    return [(int(a), int(b), str(lab[a])) for a, b in zip(starts, ends, strict=True)]
