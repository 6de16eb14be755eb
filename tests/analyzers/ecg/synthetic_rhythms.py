"""Physiologically built two-lead ECGs (II and V1) for rhythm tests: typical atrial flutter, sinus rhythm, AF.

These are constructed signals, not recordings: QRS and T waves as sums of Gaussians with adult-typical
amplitudes and durations, flutter waves as the negative sawtooth of typical (counter-clockwise cavo-tricuspid)
flutter in the inferior leads (gradual downslope, sharp upstroke, 300 /min, no isoelectric baseline) with
small discrete positive waves in V1, QRS complexes conducted after a fixed delay on every 2nd / 4th flutter
wave (or a varying ratio), plus baseline wander and white noise. No developer record holds atrial flutter
with its signal (MIT-BIH 203, the DS1 record with flutter, has annotations only), so the detector's
positive cases here are built, and say so.
"""

from __future__ import annotations

import numpy as np

LEADS = ["II", "V1"]
_QRS = {  # lead: ((offset s, amplitude mV, width s), ...) for Q, R, S and T
    "II": ((-0.025, -0.10, 0.008), (0.0, 1.3, 0.010), (0.028, -0.30, 0.010)),
    "V1": ((-0.010, 0.25, 0.010), (0.025, -1.0, 0.014)),
}
_T = {"II": 0.30, "V1": -0.10}
_P = {"II": 0.15, "V1": 0.08}


def _gauss(t: np.ndarray, c: float, a: float, w: float) -> np.ndarray:
    return a * np.exp(-0.5 * ((t - c) / w) ** 2)


def _beats(x: np.ndarray, t: np.ndarray, r_times: np.ndarray, p_waves: bool) -> None:
    for i, tr in enumerate(r_times):
        rr = float(r_times[i] - r_times[i - 1]) if i else float(np.median(np.diff(r_times)))
        near = np.abs(t - tr) < 0.9
        tt = t[near]
        for j, lead in enumerate(LEADS):
            y = np.zeros(tt.size)
            for off, amp, wid in _QRS[lead]:
                y += _gauss(tt, tr + off, amp, wid)
            y += _gauss(tt, tr + 0.06 + 0.2 * np.sqrt(rr), _T[lead], 0.045)
            if p_waves:
                y += _gauss(tt, tr - 0.16, _P[lead], 0.022)
            x[near, j] += y


def _noise(x: np.ndarray, t: np.ndarray, rng: np.random.Generator) -> None:
    x += 0.08 * np.sin(2 * np.pi * 0.28 * t)[:, None] + rng.normal(0, 0.012, x.shape)


def flutter(
    duration_s: float = 60.0, fs: float = 500.0, atrial_cl_s: float = 0.2, ratio: int | None = 4,
    seed: int = 0, amplitude_mv: float = 0.2,
) -> tuple[np.ndarray, np.ndarray]:
    """(signal samples x 2 leads in mV, R-peak sample indices). ratio None: conduction varies 2-4:1."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    phase = (t / atrial_cl_s) % 1.0
    saw = np.where(phase < 0.7, 0.5 - phase / 0.7, -0.5 + (phase - 0.7) / 0.3)  # slow down, quick up
    x = np.zeros((n, 2))
    x[:, 0] = -amplitude_mv * saw  # negative sawtooth in II (the flutter wave points down)
    x[:, 1] = _gauss(phase, 0.75, 0.5 * amplitude_mv, 0.08)
    n_waves = int(duration_s / atrial_cl_s)
    k, conducted = 1, []
    while k < n_waves - 2:
        conducted.append(k)
        k += ratio if ratio is not None else int(rng.choice([2, 3, 4], p=[0.3, 0.3, 0.4]))
    r_times = np.asarray(conducted) * atrial_cl_s + 0.26  # fixed AV delay after the flutter wave
    r_times = r_times[r_times < duration_s - 0.5]
    _beats(x, t, r_times, p_waves=False)
    _noise(x, t, rng)
    return x, np.round(r_times * fs).astype(np.int64)


def sinus(duration_s: float = 60.0, fs: float = 500.0, hr_bpm: float = 75.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    rr0 = 60.0 / hr_bpm
    times, tr = [], 0.4
    while tr < duration_s - 0.5:
        times.append(tr)
        tr += rr0 * (1 + 0.04 * np.sin(2 * np.pi * 0.25 * tr)) + rng.normal(0, 0.01)
    x = np.zeros((n, 2))
    _beats(x, t, np.asarray(times), p_waves=True)
    _noise(x, t, rng)
    return x


def fibrillation(duration_s: float = 60.0, fs: float = 500.0, seed: int = 0) -> np.ndarray:
    """Irregular RR (80-150 /min) with fibrillatory waves: 4-9 Hz components whose frequency wanders."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * fs)
    t = np.arange(n) / fs
    x = np.zeros((n, 2))
    for _ in range(6):
        f0 = rng.uniform(4.5, 8.5)
        drift = np.cumsum(rng.normal(0, 0.02, n)) / np.sqrt(fs)
        ph = 2 * np.pi * np.cumsum(f0 * (1 + 0.15 * np.tanh(drift))) / fs + rng.uniform(0, 2 * np.pi)
        x[:, 0] += rng.uniform(0.015, 0.03) * np.sin(ph)
        x[:, 1] += rng.uniform(0.02, 0.04) * np.sin(ph + rng.uniform(0, 2 * np.pi))
    times, tr = [], 0.4
    while tr < duration_s - 0.5:
        times.append(tr)
        tr += rng.uniform(0.4, 0.75)
    _beats(x, t, np.asarray(times), p_waves=False)
    _noise(x, t, rng)
    return x
