"""Resampling between the native voxel grid and the coarser working grids the pipeline computes on."""

from __future__ import annotations

from collections.abc import Sequence

import edt
import numpy as np
from scipy import ndimage

# Threads one analysis may use (slice decoding, distance transforms, blob filters): the speed target is for a
# 2-core machine. The results do not depend on it.
WORKERS = 2


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
        def part(i: int, axis: int = axis, k: int = k, n: int = n, src: np.ndarray = out) -> np.ndarray:
            index = [slice(None)] * src.ndim
            index[axis] = slice(i, n, k)
            return src[tuple(index)]  # a strided view: no copy before the sum

        acc = part(0).astype(np.float32)
        for i in range(1, k):
            acc += part(i)
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


def distance_inside(mask: np.ndarray, spacing: float | Sequence[float]) -> np.ndarray:
    """Distance (mm) of every True voxel to the nearest False one, 0 on False voxels; nothing outside the array
    counts as False. The same exact Euclidean transform as scipy's `distance_transform_edt`, from the `edt`
    package, which is several times faster (the transforms are most of the per-lesion outline time)."""
    sp = tuple(float(v) for v in np.broadcast_to(np.asarray(spacing, float), (mask.ndim,)))
    out: np.ndarray = edt.edt(np.ascontiguousarray(mask, dtype=bool), anisotropy=sp, black_border=False,
                              parallel=WORKERS)
    return out


def bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every True voxel (None when there is none): axis projections, which read the
    mask a few times but copy nothing, unlike `find_objects` on a uint8 copy."""
    box: list[slice] = []
    for axis in range(mask.ndim):
        others = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=others))
        if hits.size == 0:
            return None
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def erode(mask: np.ndarray, radius_mm: float, spacing: float | Sequence[float]) -> np.ndarray:
    """Erosion by a ball (the array's outside counts as False), computed on the mask's bounding box only."""
    out = np.zeros_like(mask, dtype=bool)
    box = bounding_box(mask)
    if box is None:
        return out
    out[box] = (distance_inside(np.pad(mask[box], 1), spacing) > radius_mm)[1:-1, 1:-1, 1:-1]
    return out


def dilate(mask: np.ndarray, radius_mm: float, spacing: float | Sequence[float]) -> np.ndarray:
    """Dilation by a ball, computed on the mask's bounding box grown by the radius (nothing farther is reached)."""
    tight = bounding_box(mask)
    if tight is None:
        return np.zeros_like(mask, dtype=bool)
    sp = np.broadcast_to(np.asarray(spacing, float), (mask.ndim,))
    reach = np.ceil(radius_mm / sp).astype(int) + 1
    box = tuple(slice(max(0, b.start - r), min(n, b.stop + r)) for b, r, n in zip(tight, reach, mask.shape,
                                                                                    strict=True))
    out = np.zeros_like(mask, dtype=bool)
    out[box] = distance_inside(~mask[box], spacing) <= radius_mm
    return out
