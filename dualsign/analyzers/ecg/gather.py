"""Gathers by index or mask: the same values as numpy's fancy indexing, through np.take / np.compress.

On a 30-min record the delineator, the median beat and the beat and rhythm features cut thousands of windows out
of whole-record arrays. numpy's general fancy-indexing machinery does that 3-8x slower than np.take along one
axis (rows of a samples x leads array), and a boolean mask 5x slower than np.compress; the elements copied and
their order are the same, so every result is the same. np.take first copies a source that is not C-contiguous
(a column of a samples x leads array, a time-reversed filter output) whole: such a source is gathered from by
fancy indexing (`at`), or made contiguous once by the caller when it is gathered from many times.
"""

from __future__ import annotations

import numpy as np


def rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[idx]: the rows (samples) of a at the integer indices idx, shape idx.shape + a.shape[1:]."""
    return np.take(a, idx, axis=0) if a.flags.c_contiguous else a[idx]


def at(y: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """y[idx] for a 1-D array y."""
    return y.take(idx) if y.flags.c_contiguous else y[idx]


def per_lead(a_t: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """For a lead-major a_t (leads, samples) and idx (..., leads): lead j's sample at idx[..., j], i.e. a[idx,
    arange(leads)] of the samples x leads array a = a_t.T."""
    out = np.empty(idx.shape, dtype=a_t.dtype)
    for j in range(a_t.shape[0]):
        out[..., j] = at(a_t[j], idx[..., j])
    return out


def masked(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """a[mask] for a 1-D array and a boolean mask of the same length."""
    return np.compress(mask, a)
