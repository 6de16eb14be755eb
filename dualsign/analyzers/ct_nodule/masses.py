"""Masses (> 30 mm) against the mediastinum or chest wall, which the aerated-lung search region leaves out.

The lung envelope (each lung closed with a 30 mm ball) holds the bites a mass takes out of the lung. Soft tissue
there, opened with a 6 mm ball (vessels and pleura go), is a mass when it is large (>= a 30 mm sphere), compact
(no axis under half the longest: the aorta and the heart's edge are long and flat here) and touches aerated lung
over a good part of its surface. The score is a rule, not a calibrated probability: no data of masses to
calibrate on exists here, and the model card says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dualsign.analyzers.ct_nodule.grid import block_mean
from dualsign.analyzers.ct_nodule.lungs import LungMasks, close_mask
from dualsign.analyzers.ct_nodule.read import CTVolume
from dualsign.analyzers.ct_nodule.segment import CALCIFIED_HU, axes_2d

ENVELOPE_MM = 30.0
OPENING_MM = 6.0
MIN_VOLUME_ML = 14.1  # a 30 mm sphere
MIN_CONTACT = 0.3
MIN_COMPACTNESS = 0.5


@dataclass
class Mass:
    center_index: np.ndarray  # native [z, y, x]
    long_axis_mm: float
    short_axis_mm: float
    axial_slice_index: int
    volume_mm3: float
    mean_hu: float
    max_hu: float
    density: str
    score: float


def _ellipsoid(radius_mm: float, spacing: tuple[float, float, float]) -> np.ndarray:
    k = [int(np.ceil(radius_mm / s)) for s in spacing]
    zz, yy, xx = np.ogrid[-k[0] : k[0] + 1, -k[1] : k[1] + 1, -k[2] : k[2] + 1]
    return (zz * spacing[0]) ** 2 + (yy * spacing[1]) ** 2 + (xx * spacing[2]) ** 2 <= radius_mm**2


def find_masses(vol: CTVolume, lungs: LungMasks) -> list[Mass]:
    if not lungs.found:
        return []
    hu_work = lungs.work_hu if lungs.work_hu is not None else block_mean(vol.hu, lungs.factor)
    lung_work = lungs.label > 0
    # Search on a grid twice as coarse as the lung grid (masses are >= 30 mm), measure on the lung grid.
    g = (2, 2, 2)
    hu = block_mean(hu_work, g)
    lung = block_mean(lung_work, g) > 0.5
    label = np.zeros(lung.shape, np.uint8)
    sub = lungs.label[: lung.shape[0] * 2 : 2, : lung.shape[1] * 2 : 2, : lung.shape[2] * 2 : 2]
    label[lung] = sub[lung]
    sp = tuple(s * k for s, k in zip(lungs.spacing, g, strict=True))
    envelope = np.zeros_like(lung)
    for code in np.unique(label[label > 0]):
        envelope |= close_mask(label == code, sp, ENVELOPE_MM)  # type: ignore[arg-type]
    dense = envelope & ~lung & (hu > -300)
    opened = ndimage.binary_opening(dense, _ellipsoid(OPENING_MM, sp))  # type: ignore[arg-type]
    lab, n = ndimage.label(opened)
    near_lung = ndimage.binary_dilation(lung)
    voxel_mm3 = float(np.prod(sp))
    wsp = lungs.spacing
    out: list[Mass] = []
    for i, box in enumerate(ndimage.find_objects(lab), start=1):
        if box is None:
            continue
        comp = lab[box] == i
        if float(comp.sum()) * voxel_mm3 < MIN_VOLUME_ML * 1000:
            continue
        pts = np.argwhere(comp) * np.array(sp)
        extent = pts.max(0) - pts.min(0) + np.array(sp)
        compact = float(extent.min() / extent.max())
        surface = comp & ~ndimage.binary_erosion(comp)
        contact = float((surface & near_lung[box]).sum()) / max(1, int(surface.sum()))
        if compact < MIN_COMPACTNESS or contact < MIN_CONTACT:
            continue
        # back on the lung grid: the soft tissue of this component, outside the aerated lung
        wbox = tuple(slice(b.start * 2, min(b.stop * 2, n_)) for b, n_ in zip(box, hu_work.shape, strict=True))
        up = np.repeat(np.repeat(np.repeat(comp, 2, 0), 2, 1), 2, 2)
        up = up[: wbox[0].stop - wbox[0].start, : wbox[1].stop - wbox[1].start, : wbox[2].stop - wbox[2].start]
        fine = up & (hu_work[wbox] > -300) & ~lung_work[wbox]
        if not fine.any():
            continue
        areas = fine.sum(axis=(1, 2))
        best = [int(k) for k in np.argsort(areas)[::-1][:3] if areas[k] > 0]
        axes = [axes_2d(fine[k], wsp[1]) for k in best]
        j = int(np.argmax([a[0] for a in axes]))
        vals = hu_work[wbox][fine]
        f = np.array(lungs.factor)
        lo = np.array([b.start for b in wbox])
        centroid = (np.argwhere(fine).mean(0) + lo + 0.5) * f - 0.5
        slice_native = int(round((lo[0] + best[j] + 0.5) * f[0] - 0.5))
        out.append(Mass(
            center_index=centroid,
            long_axis_mm=axes[j][0],
            short_axis_mm=min(axes[j][1], axes[j][0]),
            axial_slice_index=slice_native,
            volume_mm3=float(fine.sum()) * float(np.prod(wsp)),
            mean_hu=float(vals.mean()),
            max_hu=float(vals.max()),
            density="calcified" if float(np.percentile(vals, 75)) > CALCIFIED_HU else "solid",
            score=float(np.clip(0.5 + 0.5 * contact + 0.2 * (compact - MIN_COMPACTNESS), 0.0, 0.99)),
        ))
    return out
