"""Resampling between the native voxel grid and the coarser working grids the pipeline computes on."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def factors(spacing: tuple[float, float, float], target_mm: float) -> tuple[int, int, int]:
    """Integer block sizes that bring each axis close to `target_mm` without going finer than native."""
    return tuple(max(1, int(round(target_mm / s))) for s in spacing)  # type: ignore[return-value]


def block_mean(vol: np.ndarray, f: tuple[int, int, int]) -> np.ndarray:
    """Mean over f-sized blocks (trailing partial blocks dropped): a cheap, alias-free downsample.

    Strided sums axis by axis, on the shrinking array: far cheaper than a reshape-mean over the whole volume.
    """
    if f == (1, 1, 1):
        return vol.astype(np.float32)
    out: np.ndarray = vol
    for axis, k in enumerate(f):
        if k == 1:
            continue
        n = out.shape[axis] - out.shape[axis] % k
        parts = [np.take(out, np.arange(i, n, k), axis=axis).astype(np.float32) for i in range(k)]
        acc = parts[0]
        for p in parts[1:]:
            acc += p
        out = acc
    return (out / float(np.prod(f))).astype(np.float32)


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
