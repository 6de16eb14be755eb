"""np.median(a, axis=0) of a float64 array, the same value, at a third to a half of the cost.

The per-window rhythm features, templates and beat statistics take hundreds of medians of a few dozen values
each, where np.median's own overhead dominates, and the median beat one over every beat of the record.
np.median partitions at both middle positions and at the last one (to find NaN), three selections per column.
One selection at the upper middle position does: the lower middle order statistic is then the largest value
below it, and the mean of the two is formed as np.median forms it ((lo + hi) / 2). Where a column holds NaN,
or a middle value is zero (0.0 and -0.0 compare equal, so which of them a selection leaves in the middle is not
fixed, and the sign of a zero median could differ), np.median itself answers; so it does for a long array of
few columns (a whole record's leads), where the two extra passes for the largest values cost more than the
selections they save.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SMALL = 20_000  # elements; larger arrays of fewer than 16 columns: np.median


def median0(a: np.ndarray) -> Any:
    """np.median(a, axis=0): an array of shape a.shape[1:], or a float64 scalar for 1-D a."""
    a = np.asarray(a)
    n = a.shape[0] if a.ndim else 0
    if a.dtype != np.float64 or n < 2 or (a.size > SMALL and a.size < 16 * n):
        return np.median(a, axis=0)
    k = n // 2
    part = np.partition(a, k, axis=0)
    hi = part[k]
    top = part[k:].max(axis=0)  # NaN sorts last: a column with NaN has it here
    if n % 2:
        if np.isnan(top).any() or not np.all(hi):
            return np.median(a, axis=0)
        return hi / 1.0  # np.median: the mean of the one middle value (a copy)
    lo = part[:k].max(axis=0)
    if np.isnan(top).any() or not (np.all(hi) and np.all(lo)):
        return np.median(a, axis=0)
    return (lo + hi) / 2.0


def centred(a: np.ndarray) -> tuple[np.ndarray, Any]:
    """(x, m) with x = a - median0(a) and m = median0(x), the median the QRS detector removes again, from one
    selection of a's two middle values per column: subtracting a constant keeps the order of the values
    (rounding is monotone), so x's middle values are a's minus the median, and their mean is m. Where a holds
    NaN or a middle value is zero (the sign of a zero median is not fixed), both medians are taken outright."""
    a = np.asarray(a)
    n = a.shape[0] if a.ndim else 0
    if a.dtype != np.float64 or a.ndim not in (1, 2) or n < 2 or np.isnan(a).any():
        return _centred_plain(a)
    k = n // 2
    part = np.partition(a, (k - 1, k), axis=0)
    lo, hi = part[k - 1], part[k]
    if not (np.all(lo) and np.all(hi)):
        return _centred_plain(a)
    if n % 2:
        m1 = hi / 1.0
        return a - m1, (hi - m1) / 1.0
    m1 = (lo + hi) / 2.0
    return a - m1, ((lo - m1) + (hi - m1)) / 2.0


def _centred_plain(a: np.ndarray) -> tuple[np.ndarray, Any]:
    x = a - median0(a)
    return x, median0(x)
