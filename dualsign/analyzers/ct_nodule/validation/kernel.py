"""Reconstruction-kernel augmentation: a soft-kernel training scan made to look as if reconstructed sharp.

Hospitals read nodule screening on lung (sharp) kernels as often as on soft ones; every training host here is a
soft or standard kernel (A0001 "B", LIDC-IDRI-0002 "STANDARD"). A sharp kernel raises the modulation of fine
detail (edges, small vessels) and adds high-frequency noise, which moves every contrast and shape feature of a
vessel cross-section or junction. This imitates both in the axial plane, where the kernel acts:

- edges: an unsharp mask, `img + (gain - 1) * (img - G(img))`, Gaussian of 0.8 mm;
- noise: white noise high-passed in the plane (noise less its 1-voxel Gaussian blur), scaled to `noise_hu`.

The ranges the training draws from (below) were set beforehand, aiming at fine detail about two to three times
as strong and noise several times the soft-kernel hosts' own, not fitted to any evaluation series. Applied after
the simulated nodules are inserted, as a real kernel acts on the whole image.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

EDGE_SIGMA_MM = 0.8
EDGE_GAIN = (1.5, 3.0)  # drawn uniformly per scan
NOISE_HU = (20.0, 50.0)  # SD of the added high-frequency noise, drawn uniformly per scan


def sharpen(hu: np.ndarray, spacing: tuple[float, float, float], edge_gain: float, noise_hu: float,
            rng: np.random.Generator, chunk: int = 32) -> np.ndarray:
    """`hu` (z, y, x) with a sharper in-plane kernel imitated; int16 like the input. Processed in slabs of slices."""
    sigma_px = EDGE_SIGMA_MM / float(spacing[1])
    out = np.empty(hu.shape, np.int16)
    for k0 in range(0, hu.shape[0], chunk):
        f = hu[k0 : k0 + chunk].astype(np.float32)
        f += (edge_gain - 1.0) * (f - ndimage.gaussian_filter(f, (0, sigma_px, sigma_px)))
        n = rng.standard_normal(f.shape, dtype=np.float32)
        n -= ndimage.gaussian_filter(n, (0, 1.0, 1.0))
        f += n * (noise_hu / max(float(n.std()), 1e-6))
        out[k0 : k0 + chunk] = np.clip(np.rint(f), -1024, 3071).astype(np.int16)
    return out


def random_sharpen(hu: np.ndarray, spacing: tuple[float, float, float], seed: int
                   ) -> tuple[np.ndarray, dict[str, float]]:
    """`sharpen` with the edge gain and noise drawn from the training ranges; returns the draw too."""
    rng = np.random.default_rng(seed)
    gain = float(rng.uniform(*EDGE_GAIN))
    noise = float(rng.uniform(*NOISE_HU))
    return sharpen(hu, spacing, gain, noise, rng), {"edge_gain": gain, "noise_hu": noise}
