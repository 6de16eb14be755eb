"""Lung segmentation on a ~2 mm working grid: body, air inside the body, trachea removed, left/right split.

Two masks come out per lung: `filled` (parenchyma with its vessels and nodules, for volumes) and the search
mask `closed` (a 3-D closing on top, so nodules sitting on the pleura stay inside the region searched).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from dualsign.analyzers.ct_nodule.grid import block_mean, bounding_box, distance_inside, factors, upsample_mask
from dualsign.analyzers.ct_nodule.read import CTVolume

WORK_MM = 2.0
LUNG_HU = -400.0  # air-bearing lung lies below, soft tissue above
CLOSING_MM = 10.0
MIN_LUNG_ML = 50.0


@dataclass
class LungMasks:
    factor: tuple[int, int, int]  # native voxels per working voxel (z, y, x)
    spacing: tuple[float, float, float]  # working-grid spacing, mm
    label: np.ndarray  # uint8 on the working grid: 0 outside, 1 right lung, 2 left lung (filled)
    closed: np.ndarray  # bool on the working grid: region searched for nodules
    volumes_ml: dict[str, float]
    notes: list[str]
    work_hu: np.ndarray | None = field(default=None, repr=False)  # HU on the working grid, for later stages

    @property
    def found(self) -> bool:
        return bool(self.volumes_ml.get("total", 0.0) >= MIN_LUNG_ML)

    def native_label(self, shape: tuple[int, int, int]) -> np.ndarray:
        return upsample_mask(self.label, self.factor, shape)

    def native_closed(self, shape: tuple[int, int, int]) -> np.ndarray:
        return upsample_mask(self.closed, self.factor, shape)


def _ball(radius_vox: tuple[float, float, float]) -> np.ndarray:
    r = [max(1, int(np.ceil(v))) for v in radius_vox]
    zz, yy, xx = np.ogrid[-r[0] : r[0] + 1, -r[1] : r[1] + 1, -r[2] : r[2] + 1]
    return (zz / max(radius_vox[0], 0.5)) ** 2 + (yy / max(radius_vox[1], 0.5)) ** 2 + (
        xx / max(radius_vox[2], 0.5)
    ) ** 2 <= 1.0


def close_mask(mask: np.ndarray, spacing: tuple[float, float, float], radius_mm: float) -> np.ndarray:
    """Binary closing via distance transforms (fast for large radii, anisotropy-aware), on the mask's box."""
    if not mask.any():
        return mask
    box = bounding_box(mask)
    assert box is not None
    pad = int(np.ceil(radius_mm / min(spacing))) + 1
    m = np.pad(mask[box], pad)
    dil = distance_inside(~m, spacing) <= radius_mm
    ero = distance_inside(dil, spacing) > radius_mm
    out = mask.copy()
    out[box] |= ero[pad:-pad, pad:-pad, pad:-pad]
    return out


def _sizes(lab: np.ndarray, n: int) -> np.ndarray:
    """Voxel count of labels 1..n."""
    return np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(np.float64)


def _fill_slices(mask: np.ndarray) -> np.ndarray:
    """Fill holes slice by slice, within the mask's bounding box (the costly part scales with the area)."""
    out = mask.copy()
    box = bounding_box(mask)
    if box is None:
        return out
    bz, by, bx = box
    for k in range(bz.start, bz.stop):
        out[k, by, bx] = ndimage.binary_fill_holes(mask[k, by, bx])
    return out


def _remove_airway(air: np.ndarray, hu: np.ndarray, spacing: tuple[float, float, float], body_x: float) -> np.ndarray:
    """Drop trachea / main-bronchus cross-sections: small, near-midline, nearly pure air (< -900 HU)."""
    out = air.copy()
    px_area = spacing[1] * spacing[2]
    for k in range(air.shape[0]):
        lab, n = ndimage.label(air[k])
        if n == 0:
            continue
        idx = np.arange(1, n + 1)
        # per-component pixel count, HU sum and column sum in one pass each (bincount, not n label scans)
        flat = lab.ravel()
        count = np.bincount(flat, minlength=n + 1)[1:].astype(np.float64)
        mean = np.bincount(flat, weights=hu[k].ravel(), minlength=n + 1)[1:] / count
        cols = np.broadcast_to(np.arange(lab.shape[1], dtype=np.float64), lab.shape).ravel()
        cx = np.bincount(flat, weights=cols, minlength=n + 1)[1:] / count * spacing[2]
        area = count * px_area
        drop = idx[(area < 700.0) & (mean < -900.0) & (np.abs(cx - body_x) < 35.0)]
        if drop.size:
            out[k][np.isin(lab, drop)] = False
    return out


def _split(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Two lungs joined at the front or back: erode until two large parts appear, then grow them back."""
    box = bounding_box(mask)
    if box is None:
        return None
    whole, mask = mask, mask[box]
    eroded = mask
    for _ in range(8):
        eroded = ndimage.binary_erosion(eroded)
        lab, n = ndimage.label(eroded)
        if n < 2:
            continue
        sizes = _sizes(lab, n)
        order = np.argsort(sizes)[::-1]
        if sizes[order[1]] < 0.15 * sizes[order[0]]:
            continue
        seeds = np.zeros_like(lab)
        seeds[lab == order[0] + 1] = 1
        seeds[lab == order[1] + 1] = 2
        _, (iz, iy, ix) = ndimage.distance_transform_edt(seeds == 0, return_indices=True)
        nearest = seeds[iz, iy, ix]
        a, b = np.zeros_like(whole), np.zeros_like(whole)
        a[box], b[box] = mask & (nearest == 1), mask & (nearest == 2)
        return a, b
    return None


def segment_lungs(vol: CTVolume) -> LungMasks:
    f = factors(vol.spacing, WORK_MM)
    sp = (vol.spacing[0] * f[0], vol.spacing[1] * f[1], vol.spacing[2] * f[2])
    hu = block_mean(vol.hu, f)
    notes: list[str] = []
    body_lab, n = ndimage.label(hu > -500.0)
    if n == 0:
        return LungMasks(f, sp, np.zeros(hu.shape, np.uint8), np.zeros(hu.shape, bool), {"total": 0.0}, ["no body"])
    sizes = _sizes(body_lab, n)
    body = _fill_slices(body_lab == int(np.argmax(sizes)) + 1)
    body_x = float(np.mean(np.nonzero(body)[2])) * sp[2] if body.any() else hu.shape[2] * sp[2] / 2
    air = body & (hu < LUNG_HU)
    air = _remove_airway(air, hu, sp, body_x)
    lab, n = ndimage.label(air)
    voxel_ml = sp[0] * sp[1] * sp[2] / 1000.0
    if n == 0:
        return LungMasks(f, sp, np.zeros(hu.shape, np.uint8), np.zeros(hu.shape, bool), {"total": 0.0}, notes)
    sizes = _sizes(lab, n) * voxel_ml
    big = [i + 1 for i in np.argsort(sizes)[::-1] if sizes[i] >= 0.1 * sizes.max() and sizes[i] >= 20.0][:2]
    parts: list[np.ndarray] = [lab == i for i in big]
    if len(parts) == 1:
        split = _split(parts[0])
        if split is not None:
            parts = list(split)
        else:
            notes.append("left and right lung could not be separated; reported as one region")
    # Patient left is +x in LPS: the part with the larger mean x is the left lung (axes checked below).
    x_axis_sign = float(np.sign(vol.axes[0, 0])) or 1.0
    parts.sort(key=lambda m: x_axis_sign * float(np.mean(np.nonzero(m)[2])))
    label = np.zeros(hu.shape, np.uint8)
    closed = np.zeros(hu.shape, bool)
    for code, m in zip((1, 2) if len(parts) == 2 else (1,), parts, strict=False):
        filled = _fill_slices(m)
        label[filled & (label == 0)] = code
        closed |= close_mask(filled, sp, CLOSING_MM)
    closed &= body
    vols = {
        "right": round(float((label == 1).sum() * voxel_ml), 1),
        "left": round(float((label == 2).sum() * voxel_ml), 1),
    }
    if len(parts) == 1:
        vols = {"both": vols["right"]}
    vols["total"] = round(sum(vols.values()), 1)
    return LungMasks(f, sp, label, closed, vols, notes, work_hu=hu)
