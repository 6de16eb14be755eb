"""The sharp-kernel training augmentation: it sharpens in the axial plane only, adds the noise it is asked for,
and leaves the mean HU of a uniform region where it was."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.ct_nodule.validation.kernel import random_sharpen, sharpen


def test_a_blurred_edge_is_steeper_and_z_is_untouched() -> None:
    """A blurred in-plane step (lung -850 HU to wall 40 HU) sharpened without noise: its steepest slope is
    steeper and the levels either side stay where they were; a volume that only changes along z (the kernel acts
    within each slice) comes back unchanged."""
    spacing = (2.0, 0.8, 0.8)
    x = np.arange(64, dtype=float)
    step = -850 + 890 / (1 + np.exp(-(x - 32) / 0.7))  # a soft kernel's blurred edge
    vol = np.broadcast_to(step, (4, 16, 64)).astype(np.int16).copy()
    out = sharpen(vol, spacing, edge_gain=2.5, noise_hu=0.0, rng=np.random.default_rng(0))
    before, after = vol[2, 8].astype(float), out[2, 8].astype(float)
    assert np.diff(after).max() > 1.2 * np.diff(before).max()
    assert np.array_equal(sharpen(vol, spacing, 1.0, 0.0, np.random.default_rng(0)), vol)  # gain 1: as it was
    assert abs(after[:8].mean() - before[:8].mean()) < 2 and abs(after[-8:].mean() - before[-8:].mean()) < 2
    along_z = np.repeat(np.linspace(-900, 0, 6)[:, None, None], 16 * 16, axis=1).reshape(6, 16, 16).astype(np.int16)
    assert np.array_equal(sharpen(along_z, spacing, 2.5, 0.0, np.random.default_rng(0)), along_z)


def test_the_added_noise_has_the_requested_spread_and_no_offset() -> None:
    flat = np.full((6, 96, 96), -850, np.int16)
    out = sharpen(flat, (1.25, 0.7, 0.7), edge_gain=2.0, noise_hu=35.0, rng=np.random.default_rng(1))
    resid = out.astype(float) + 850
    assert abs(resid.std() - 35.0) < 2.0
    assert abs(resid.mean()) < 1.0
    assert out.dtype == np.int16


def test_the_draw_is_reproducible_from_the_seed() -> None:
    vol = np.random.default_rng(2).integers(-900, 100, size=(3, 32, 32)).astype(np.int16)
    a, draw_a = random_sharpen(vol, (1.25, 0.7, 0.7), seed=7)
    b, draw_b = random_sharpen(vol, (1.25, 0.7, 0.7), seed=7)
    c, _ = random_sharpen(vol, (1.25, 0.7, 0.7), seed=8)
    assert np.array_equal(a, b) and draw_a == draw_b
    assert not np.array_equal(a, c)
