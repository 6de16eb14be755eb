"""The analyzer's faster stand-ins for scipy.signal.sosfiltfilt and np.median(axis=0) must give exactly what the
libraries give (the findings JSON is promised byte-identical): each is checked against the library call itself."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest
from scipy import signal

from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt


@pytest.mark.parametrize("shape", [(3600,), (3600, 2), (5000, 12), (40,)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_sosfiltfilt_equals_scipy_bit_for_bit(shape: tuple[int, ...], order: Literal["C", "F"]) -> None:
    rng = np.random.default_rng(sum(shape))
    x = np.asarray(rng.normal(0, 1, shape).cumsum(axis=0), order=order)
    for sos in (signal.butter(2, [0.5, 40.0], btype="bandpass", fs=360.0, output="sos"),
                signal.butter(3, 1.0, btype="highpass", fs=500.0, output="sos")):
        ours, ref = sosfiltfilt(sos, x), signal.sosfiltfilt(sos, x, axis=0)
        assert ours.shape == ref.shape
        assert np.array_equal(ours, ref)
        assert np.array_equal(ours.sum(axis=0), ref.sum(axis=0))  # same layout: reductions add in the same order


def test_sosfiltfilt_on_a_strided_view_equals_scipy() -> None:
    x = np.random.default_rng(1).normal(0, 1, (4000, 6))[:, ::2]
    sos = signal.butter(2, [4.0, 9.0], btype="bandpass", fs=300.0, output="sos")
    assert np.array_equal(sosfiltfilt(sos, x), signal.sosfiltfilt(sos, x, axis=0))


@pytest.mark.parametrize("rows", [2, 3, 7, 40, 41, 501])
@pytest.mark.parametrize("cols", [None, 1, 5, 64])
def test_median0_equals_numpy(rows: int, cols: int | None) -> None:
    rng = np.random.default_rng(rows * 100 + (cols or 0))
    shape = (rows,) if cols is None else (rows, cols)
    for a in (rng.normal(0, 1, shape), np.round(rng.normal(0, 2, shape)), rng.integers(-3, 4, shape) * 0.5):
        ours, ref = median0(a), np.median(a, axis=0)
        assert np.array_equal(np.asarray(ours), np.asarray(ref))
        assert np.array_equal(np.signbit(ours), np.signbit(ref))


def test_median0_with_nan_and_signed_zeros_equals_numpy() -> None:
    a = np.random.default_rng(3).normal(0, 1, (9, 4))
    a[2, 1] = np.nan
    a[:, 3] = [0.0, -0.0, 0.0, -0.0, 1.0, -1.0, 0.0, -0.0, 2.0]
    ours, ref = median0(a), np.median(a, axis=0)
    assert np.array_equal(ours, ref, equal_nan=True)
    assert np.array_equal(np.signbit(ours), np.signbit(ref))
