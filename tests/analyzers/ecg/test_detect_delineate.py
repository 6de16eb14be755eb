"""Unit checks of the detector's split-beat rule and the delineator's wave order (synthetic, no data files)."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import _drop_split_beats


def test_weak_detection_splitting_a_regular_rr_is_dropped() -> None:
    beats = np.arange(0, 20 * 200, 200)
    fused = np.zeros(beats[-1] + 1)
    fused[beats] = 1.0
    extra = beats[10] + 100
    fused[extra] = 0.5
    out = _drop_split_beats(np.sort(np.append(beats, extra)), fused)
    assert extra not in out
    assert np.array_equal(out, beats)


def test_strong_ectopic_couplet_is_kept() -> None:
    beats = list(range(0, 10 * 200, 200)) + [1900, 2000, 2300] + list(range(2500, 4500, 200))
    b = np.asarray(beats)
    fused = np.zeros(b[-1] + 1)
    fused[b] = 1.0
    fused[[1900, 2000]] = 1.5  # V beats: strong on the QRS envelope
    assert np.array_equal(_drop_split_beats(b, fused), b)


def _synthetic(fs: float, n_beats: int = 12, rr: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(int(n_beats * rr * fs)) / fs
    x = np.zeros_like(t)
    r = (np.arange(1, n_beats - 1) * rr * fs).astype(int)
    for ri in r:
        tr = ri / fs
        x += 0.15 * np.exp(-(((t - tr + 0.16) / 0.025) ** 2))  # P
        x += 1.2 * np.exp(-(((t - tr) / 0.012) ** 2))  # R
        x += 0.3 * np.exp(-(((t - tr - 0.30) / 0.05) ** 2))  # T
    return x[:, None], r


def test_synthetic_beats_are_delineated_in_order() -> None:
    fs = 500.0
    x, r = _synthetic(fs)
    b = delineate(prepare(x, fs), fs, r)
    i = 5
    assert b.p_present[i]
    assert b.p_on[i] < b.p_peak[i] < b.p_off[i] < b.qrs_on[i] < r[i] < b.qrs_off[i] < b.t_peak[i] < b.t_off[i]
    # T of a Gaussian (sd 35 ms) ends ~100 ms after its peak, not at the peak itself.
    assert 0.05 * fs < b.t_off[i] - b.t_peak[i] < 0.2 * fs
    assert abs((b.t_peak[i] - r[i]) / fs - 0.30) < 0.02


def test_bigeminy_excerpt_is_not_af() -> None:
    """MIT-BIH 106 excerpt: bigeminy, couplets and a VT run; the RR irregularity is ectopy, not AF."""
    from pathlib import Path

    from dualsign.analyzers.ecg import ECGAnalyzer

    data = Path(__file__).resolve().parents[2] / "data" / "ecg"
    an = ECGAnalyzer()
    labels = {e["label"] for e in an.analyze([data / "mitdb106_150s_60s"]).raw["rhythm"]}
    assert "AF" not in labels
    assert "AF" in {e["label"] for e in an.analyze([data / "A00027"]).raw["rhythm"]}  # a real AF strip still is


def test_periodic_ectopy_has_low_organised_irregularity() -> None:
    from dualsign.analyzers.ecg.rules import organised_irregularity, rr_irregularity

    bigeminy = np.tile([0.5, 1.3], 15)
    assert rr_irregularity(bigeminy) > 0.5
    assert organised_irregularity(bigeminy) < 0.02
    rng = np.random.default_rng(0)
    af = rng.uniform(0.4, 1.2, 30)
    assert organised_irregularity(af) > 0.5 * rr_irregularity(af)


def test_t_peak_is_the_wave_not_a_depressed_st_segment() -> None:
    """A depressed ST segment deviates most from the PR level, but the T wave is the later, smaller peak."""
    fs = 500.0
    x, r = _synthetic(fs)
    t = np.arange(x.shape[0]) / fs
    for ri in r:
        u = t - ri / fs
        x[:, 0] -= 0.4 * 0.5 * (np.tanh((u - 0.06) / 0.01) - np.tanh((u - 0.25) / 0.02))  # ST depression
    b = delineate(prepare(x, fs), fs, r)
    i = 5
    assert abs((b.t_peak[i] - r[i]) / fs - 0.30) < 0.03
    assert b.t_off[i] - r[i] > 0.35 * fs


def test_t_end_after_the_t_wave_that_follows_a_down_sloping_st_segment() -> None:
    """Depressed ST sloping down into a trough, then a late T wave whose fall lies past the T-peak window.

    The trough stands out more than the T wave inside that window and is taken as the T peak; the T wave is
    the later, opposite deflection it swings into, so the T ends after that deflection, not at its peak.
    """
    fs, rr, tp = 500.0, 0.8, 0.46
    t = np.arange(int(12 * rr * fs)) / fs
    x = np.zeros_like(t)
    r = (np.arange(1, 11) * rr * fs).astype(int)
    for ri in r:
        u = t - ri / fs
        x += 0.15 * np.exp(-(((u + 0.16) / 0.025) ** 2)) + 1.2 * np.exp(-((u / 0.012) ** 2))
        st = 0.1 * (1 + np.tanh((u - 0.04) / 0.01)) + 0.12 * np.clip((u - 0.05) / (tp - 0.12), 0, 1)
        x -= st * 0.5 * (1 - np.tanh((u - tp + 0.07) / 0.02))  # ST: down 0.2 mV at J, then sloping on
        x += 0.1 * np.exp(-(((u - tp) / 0.035) ** 2))  # T wave
    b = delineate(prepare(x[:, None], fs), fs, r)
    i = 5
    # Ends ~70 ms after its peak, as the T of the plain synthetic beat (sd 35 ms) does.
    assert (tp + 0.04) * fs < b.t_off[i] - r[i] < (tp + 0.12) * fs


def _leads(fs: float, t_at: list[float], p_at: list[float], rr: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic beat train per lead, each with its own T-peak and P-peak time (s after / before R)."""
    t = np.arange(int(12 * rr * fs)) / fs
    r = (np.arange(1, 11) * rr * fs).astype(int)
    x = np.zeros((t.size, len(t_at)))
    for li, (tt, pt) in enumerate(zip(t_at, p_at, strict=True)):
        for ri in r:
            u = t - ri / fs
            x[:, li] += 0.15 * np.exp(-(((u + pt) / 0.025) ** 2)) + 1.2 * np.exp(-((u / 0.012) ** 2))
            x[:, li] += 0.3 * np.exp(-(((u - tt) / 0.04) ** 2))
    return x, r


def test_t_end_withheld_where_the_leads_end_the_t_wave_far_apart() -> None:
    fs = 500.0
    x, r = _leads(fs, [0.28, 0.43], [0.16, 0.16])  # T waves 150 ms apart, same P wave
    xf = prepare(x, fs)
    b, full = delineate(xf, fs, r), delineate(xf, fs, r, withhold=False)
    inner = slice(2, -2)
    assert np.all(full.t_off[inner] > 0) and np.all(b.t_off[inner] == -1)
    assert np.array_equal(b.p_present, full.p_present) and np.array_equal(b.p_on, full.p_on)
    # The same T wave in both leads: the T end is reported.
    x, r = _leads(fs, [0.28, 0.30], [0.16, 0.16])
    assert np.all(delineate(prepare(x, fs), fs, r).t_off[inner] > 0)


def test_t_end_kept_where_only_outlying_leads_disagree() -> None:
    """Twelve leads: two late T waves do not make the T end uncertain (the middle half of the leads agrees)."""
    fs = 500.0
    x, r = _leads(fs, [0.28] * 10 + [0.45, 0.45], [0.16] * 12)
    assert np.all(delineate(prepare(x, fs), fs, r).t_off[2:-2] > 0)
    x, r = _leads(fs, [0.28] * 6 + [0.45] * 6, [0.16] * 12)  # half the leads late: withheld
    assert np.all(delineate(prepare(x, fs), fs, r).t_off[2:-2] == -1)


def test_p_onset_withheld_where_the_leads_start_the_p_wave_far_apart() -> None:
    fs = 500.0
    x, r = _leads(fs, [0.30, 0.30], [0.16, 0.23])  # P waves 70 ms apart
    xf = prepare(x, fs)
    b, full = delineate(xf, fs, r), delineate(xf, fs, r, withhold=False)
    inner = slice(2, -2)
    assert np.all(b.p_present[inner]) and np.array_equal(b.p_present, full.p_present)
    assert np.all(full.p_on[inner] > 0) and np.all(b.p_on[inner] == -1)
    assert np.array_equal(b.p_off, full.p_off) and np.array_equal(b.t_off, full.t_off)
    x, r = _leads(fs, [0.30, 0.30], [0.16, 0.17])
    assert np.all(delineate(prepare(x, fs), fs, r).p_on[inner] > 0)
