"""Welch power spectrum without scipy's per-call set-up.

scipy.signal.welch builds a ShortTimeFFT object and detrends segment by segment; on the 30-s windows of a long
record that overhead costs more than the FFTs. This computes the same estimate (Hann window, 50 % overlap,
constant detrend, density scaling, one-sided) with one batched real FFT; the values agree with scipy's to
rounding (checked in tests/analyzers/ecg/test_flutter.py).
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=32)
def hann(n: int) -> tuple[np.ndarray, float]:
    """(periodic Hann window of n samples, its sum of squares), as welch() uses them."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)  # periodic Hann, as scipy.signal.get_window
    return w, float(np.sum(w * w))


def welch(x: np.ndarray, fs: float, nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, power spectral density) as scipy.signal.welch(x, fs, nperseg=nperseg, axis=0): x is one
    signal (n,) or several (n, k) side by side, the density (n_freq,) or (n_freq, k)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    nperseg = min(int(nperseg), n)
    step = nperseg - nperseg // 2
    n_seg = 1 + (n - nperseg) // step
    # (segments, [k,] nperseg): the window runs along the last axis. The view sliding_window_view(x, nperseg,
    # axis=0)[::step][:n_seg] gives, built directly (its checks cost more than a 30-s window's FFTs).
    s0 = x.strides[0]
    segs = np.lib.stride_tricks.as_strided(
        x, shape=(n_seg, *x.shape[1:], nperseg), strides=(step * s0, *x.strides[1:], s0), writeable=False
    )
    return np.fft.rfftfreq(nperseg, 1.0 / fs), segment_density(segs, fs, 0).T


def segment_density(segs: np.ndarray, fs: float, segment_axis: int) -> np.ndarray:
    """One-sided Welch density from overlapping segments (each along the last axis, detrended by its mean and
    Hann-windowed), averaged over `segment_axis`: welch()'s arithmetic, shared with batched callers."""
    win, win_pow = hann(segs.shape[-1])
    spec = np.fft.rfft((segs - segs.mean(axis=-1, keepdims=True)) * win, axis=-1)
    p: np.ndarray = (spec.real**2 + spec.imag**2).mean(axis=segment_axis) / (fs * win_pow)
    if segs.shape[-1] % 2:
        p[..., 1:] *= 2.0
    else:
        p[..., 1:-1] *= 2.0
    return p
