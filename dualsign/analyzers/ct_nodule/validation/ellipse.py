"""A digital ellipse as a scanner images it, for checking measurements against an exact size."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def blurred_ellipse(long_px: float, ratio: float, angle: float, offset: np.ndarray, blur_px: float = 0.6,
                    supersample: int = 8) -> np.ndarray:
    """An ellipse `long_px` pixels long and `ratio` as wide, at `angle` (radians) and a sub-pixel `offset` from the
    image centre, with partial volume (supersampled) and a Gaussian edge of `blur_px`; values 0 (out) to 1 (in)."""
    n, s = int(long_px) + 10, supersample
    yy, xx = (np.mgrid[0 : n * s, 0 : n * s] + 0.5) / s - 0.5
    cy, cx = np.asarray(offset, float) + n / 2
    u = (xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)
    v = -(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)
    inside = ((u / (long_px / 2)) ** 2 + (v / (ratio * long_px / 2)) ** 2 <= 1).astype(float)
    out: np.ndarray = ndimage.gaussian_filter(inside.reshape(n, s, n, s).mean(axis=(1, 3)), blur_px)
    return out
