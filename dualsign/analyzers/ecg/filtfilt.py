"""Zero-phase second-order-section filtering along axis 0, bit for bit as scipy.signal.sosfiltfilt.

scipy.signal.sosfiltfilt(sos, x, axis=0) on an (n, leads) record pads the record (odd extension), then for each
of its two passes copies the signal into a lead-major buffer, transposing it (the backward pass also reversing
it in time), before the filter kernel runs in place. On a 30-min record those strided copies cost about as much
as the filtering itself. This builds the padded, lead-major buffer once, reverses it contiguously for the second
pass and runs the same kernel (scipy's own `_sosfilt`) with the same initial conditions, so every value is the
same. The result is also laid out in memory as scipy's is (a time-reversed, transposed view of the lead-major
buffer), so reductions over it add in the same order as before. Anything other than a float64 1-D or 2-D
signal long enough for the default padding goes to scipy.signal.sosfiltfilt itself.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

try:  # the kernel scipy.signal.sosfilt runs; private, hence the fallback
    from scipy.signal._sosfilt import _sosfilt as _kernel
except ImportError:  # pragma: no cover - other scipy versions
    _kernel = None


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scipy.signal.sosfiltfilt(sos, x, axis=0) (default odd padding): same values, same memory layout."""
    sos = np.asarray(sos)
    x = np.asarray(x)
    if (
        _kernel is None
        or x.dtype != np.float64
        or sos.dtype != np.float64
        or x.ndim not in (1, 2)
        or sos.ndim != 2
        or sos.shape[1] != 6
    ):
        return np.asarray(signal.sosfiltfilt(sos, x, axis=0))
    n_sections = sos.shape[0]
    ntaps = 2 * n_sections + 1 - min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = ntaps * 3
    n = x.shape[0]
    if n <= edge or edge < 1:
        return np.asarray(signal.sosfiltfilt(sos, x, axis=0))
    xt = x[None, :] if x.ndim == 1 else x.T  # (leads, n) view
    k = xt.shape[0]
    # Odd extension (scipy's odd_ext), built straight into the lead-major buffer the kernel filters in place.
    ext = np.empty((k, n + 2 * edge))
    ext[:, edge : edge + n] = xt
    ext[:, :edge] = 2 * xt[:, 0:1] - xt[:, edge:0:-1]
    ext[:, edge + n :] = 2 * xt[:, -1:] - xt[:, -2 : -(edge + 2) : -1]
    zi = signal.sosfilt_zi(sos)  # (n_sections, 2)
    sos_c = np.ascontiguousarray(sos)
    # Initial conditions per lead: zi * first sample, as scipy's zi * x_0 moved to (leads, sections, 2).
    _kernel(sos_c, ext, np.ascontiguousarray(zi[None, :, :] * ext[:, 0][:, None, None]))
    back = ext[:, ::-1].copy()  # the backward pass runs on the time-reversed output
    _kernel(sos_c, back, np.ascontiguousarray(zi[None, :, :] * ext[:, -1][:, None, None]))
    if x.ndim == 1:
        return back[0][::-1][edge:-edge]
    return back.T[::-1][edge:-edge]
