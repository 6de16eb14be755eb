"""Host CT series for simulated-nodule validation and training (read from the shared data folder).

Split (by host series and by random seed, never mixed):
  training:   Lung-PET-CT-Dx A0001 B-kernel series (native 5 mm and resampled to 1.25 mm), LIDC-IDRI-0002 slab; the
              1.25 mm B-kernel host and the LIDC-IDRI-0002 slab also made to look sharp-kernel (kernel.py), per scan
  evaluation: Lung-PET-CT-Dx A0001 L-kernel series resampled to 1 mm, LIDC-IDRI-0001 slab (2.5 mm)
The two A0001 series are the same patient and acquisition reconstructed with different kernels.
Real lesions in the hosts are listed so their candidates are neither negatives nor false positives.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dualsign.analyzers.ct_nodule.read import CTVolume, read_ct

DATA = Path(os.environ.get("DUALSIGN_DATA", "/work/shared/data"))
A0001 = DATA / "ct/lung-pet-ct-dx/Lung_Dx-A0001/04-04-2007-NA-Chest-07990"
SERIES_L = A0001 / "2.000000-5mm-40805"
SERIES_B = A0001 / "3.000000-5mm-41315"
LIDC1 = DATA / "ct_thin/lidc-idri/LIDC-IDRI-0001"
LIDC2 = DATA / "ct_thin/lidc-idri/LIDC-IDRI-0002"
# real lesions: (centre LPS mm, radius mm) from lesions.csv of each folder
TUMOUR_A0001 = (np.array([40.5, 201.6, -209.0]), 45.0)
NODULE_LIDC1 = (np.array([56.2, 86.2, -115.6]), 17.0)
NODULE_LIDC2 = (np.array([59.8, 71.7, -102.3]), 16.0)


@dataclass
class Host:
    name: str
    volume: CTVolume
    thickness_mm: float
    real_lesions: list[tuple[np.ndarray, float]]
    sharpen: bool = False  # training only: each simulated scan gets a random sharp-kernel look (kernel.py)


def resample_z(vol: CTVolume, step_mm: float) -> CTVolume:
    """Linear interpolation between slices onto a finer z grid (a thin-slice-like series from a thick one)."""
    n = int(np.floor((vol.shape[0] - 1) * vol.spacing[0] / step_mm)) + 1
    z = np.arange(n) * step_mm / vol.spacing[0]
    lo = np.clip(np.floor(z).astype(int), 0, vol.shape[0] - 2)
    w = (z - lo).astype(np.float32)[:, None, None]
    out = np.empty((n, *vol.shape[1:]), np.int16)
    for k0 in range(0, n, 32):
        sl = slice(k0, min(n, k0 + 32))
        a = vol.hu[lo[sl]].astype(np.float32)
        b = vol.hu[lo[sl] + 1].astype(np.float32)
        out[sl] = np.rint(a * (1 - w[sl]) + b * w[sl]).astype(np.int16)
    return CTVolume(out, (step_mm, vol.spacing[1], vol.spacing[2]), vol.origin.copy(), vol.axes.copy(),
                    slice_thickness_mm=step_mm, source=vol.source, notes=[], meta=dict(vol.meta))


def training_hosts() -> list[Host]:
    b = read_ct([SERIES_B])
    l2 = read_ct([LIDC2])
    b_thin = resample_z(b, 1.25)  # one volume for both 1.25 mm hosts (simulate_scan works on a copy)
    return [
        Host("A0001-B-5mm", b, 5.0, [TUMOUR_A0001]),
        Host("A0001-B-1.25mm", b_thin, 1.25, [TUMOUR_A0001]),
        Host("LIDC-IDRI-0002", l2, 1.25, [NODULE_LIDC2]),
        Host("A0001-B-1.25mm-sharp", b_thin, 1.25, [TUMOUR_A0001], sharpen=True),
        Host("LIDC-IDRI-0002-sharp", l2, 1.25, [NODULE_LIDC2], sharpen=True),
    ]


def evaluation_hosts() -> list[Host]:
    lk = read_ct([SERIES_L])
    l1 = read_ct([LIDC1])
    return [
        Host("A0001-L-1mm", resample_z(lk, 1.0), 1.0, [TUMOUR_A0001]),
        Host("LIDC-IDRI-0001", l1, 2.5, [NODULE_LIDC1]),
    ]


def lesion_avoid_list(host: Host) -> list[tuple[np.ndarray, float]]:
    """Real lesions as (native index, radius mm), for the simulator to keep away from."""
    return [(host.volume.lps_to_index(c), r) for c, r in host.real_lesions]


def near_real_lesion(host: Host, lps: np.ndarray) -> bool:
    return any(float(np.linalg.norm(np.asarray(lps) - c)) <= r for c, r in host.real_lesions)


