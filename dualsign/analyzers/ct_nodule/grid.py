"""Resampling between the native voxel grid and the coarser working grids the pipeline computes on."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def factors(spacing: tuple[float, float, float], target_mm: float) -> tuple[int, int, int]:
    """Integer block sizes that bring each axis close to `target_mm` without going finer than native."""
    return tuple(max(1, int(round(target_mm / s))) for s in spacing)  # type: ignore[return-value]


def block_mean(vol: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
    """Mean over f-sized blocks (trailing partial blocks dropped): a cheap, alias-free downsample."""
    if f == (1, 1, 1):
        return vol.astype(np.float32)
    z, y, x = (n - n % k for n, k in zip(vol.shape, f, strict=True))
    v = vol[:z, :y, :x].astype(np.float32)
    return v.reshape(z // f[0], f[0], y // f[1], f[1], x // f[2], f[2]).mean(axis=(1, 3, 5))


def upsample_mask(mask: np.ndarray, f: tuple[int, int, int], shape: tuple[int, int, int]) -> np.ndarray:
    """Nearest-neighbour expansion of a block-grid mask back to the native shape (edges padded)."""
    m = mask
    for axis, k in enumerate(f):
        if k > 1:
            m = np.repeat(m, k, axis=axis)
    pad = [(0, max(0, s - n)) for s, n in zip(shape, m.shape, strict=True)]
    m = np.pad(m, pad, mode="edge")
    return m[: shape[0], : shape[1], : shape[2]]


def resample_iso(vol: np.ndarray, spacing: tuple[float, float, float], iso_mm: float, order: int = 1) -> np.ndarray:
    zoom = [s / iso_mm for s in spacing]
    return ndimage.zoom(vol.astype(np.float32), zoom, order=order, mode="nearest", grid_mode=False)
