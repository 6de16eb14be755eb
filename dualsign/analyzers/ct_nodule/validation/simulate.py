"""Simulated lung nodules inserted into real CT at known positions: the ground truth for validation.

Independent of the detector on purpose (its own lung region, its own geometry code): nothing here imports the
analyzer's segmentation or detection, so neither can be tuned to the other's quirks.

A nodule is an ellipsoid (4-30 mm axial long axis) of solid, ground-glass or part-solid density, placed isolated,
against the pleura (juxtapleural) or touching a vessel (juxtavascular). Its partial volume is computed on a 3x
supersampled grid, blurred with a point-spread function from the host's slice thickness, given noise of the host's
measured level, and only ever brightens the host (vessels and pleura show through).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull

DENSITIES = ("solid", "ground-glass", "part-solid")
PLACEMENTS = ("isolated", "juxtapleural", "juxtavascular")


@dataclass
class SimulatedNodule:
    center_index: tuple[float, float, float]  # native [z, y, x]
    center_mm: tuple[float, float, float]  # LPS
    diameter_mm: float  # axial long axis
    volume_mm3: float
    density: str
    solid_mm: float  # solid core long axis (part-solid), equal to diameter for solid, 0 for ground glass
    placement: str
    hu: float
    # The part inside the host's lung region: a juxtapleural nodule is placed partly inside the chest wall, where
    # it cannot show (the insertion only brightens, and the wall is as dense as a solid nodule). What a reader or
    # an algorithm can measure is this part; equal to the whole for nodules wholly inside the lung.
    visible_diameter_mm: float = 0.0
    visible_volume_mm3: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def host_lung_region(hu: np.ndarray) -> np.ndarray:
    """Air-bearing lung: below -500 HU, not connected to the air around the patient, large components only."""
    air = hu < -500
    lab, n = ndimage.label(air)
    if n == 0:
        return air
    edge = np.unique(np.concatenate([lab[:, 0, :].ravel(), lab[:, -1, :].ravel(), lab[:, :, 0].ravel(),
                                     lab[:, :, -1].ravel()]))
    sizes = ndimage.sum_labels(air, lab, np.arange(1, n + 1))
    outside = set(edge.tolist())
    keep = [i + 1 for i in np.argsort(sizes)[::-1][:3] if i + 1 not in outside and sizes[i] > 0.05 * sizes.max()]
    lung = np.isin(lab, keep)
    for k in range(lung.shape[0]):  # vessels and airways inside the lung belong to it
        lung[k] = ndimage.binary_fill_holes(lung[k])
    return lung


def host_noise_hu(hu: np.ndarray, lung: np.ndarray) -> float:
    """Noise level of the host: spread of the high-pass residual inside the lung parenchyma."""
    sub = hu[:: max(1, hu.shape[0] // 12)].astype(np.float32)
    resid = sub - ndimage.uniform_filter(sub, (1, 3, 3))
    sel = lung[:: max(1, hu.shape[0] // 12)] & (sub < -700)
    if sel.sum() < 100:
        return 20.0
    return float(1.4826 * np.median(np.abs(resid[sel] - np.median(resid[sel]))) * 1.2)


def _occupancy(shape: tuple[int, ...], spacing: np.ndarray, center: np.ndarray, semi: np.ndarray,
               lobes: np.ndarray, ss: int = 3) -> np.ndarray:
    """Fraction of each voxel inside the (lobulated) ellipsoid, by supersampling."""
    inside = _inside_fine(shape, spacing, center, semi, lobes, ss).astype(np.float32)
    return inside.reshape(shape[0], ss, shape[1], ss, shape[2], ss).mean(axis=(1, 3, 5))


def _inside_fine(shape: tuple[int, ...], spacing: np.ndarray, center: np.ndarray, semi: np.ndarray,
                 lobes: np.ndarray, ss: int = 3) -> np.ndarray:
    """The ellipsoid on the `ss`-times supersampled grid of a box of `shape` voxels (bool)."""
    grids = [(np.arange(n * ss) + 0.5) / ss - 0.5 for n in shape]
    zz, yy, xx = np.meshgrid(*[(g - c) * s for g, c, s in zip(grids, center, spacing, strict=True)], indexing="ij")
    r = np.sqrt((zz / semi[0]) ** 2 + (yy / semi[1]) ** 2 + (xx / semi[2]) ** 2)
    if lobes[0] > 0:
        theta = np.arctan2(yy, xx)
        r = r * (1.0 + lobes[0] * np.cos(lobes[1] * theta + lobes[2]))
    inside: np.ndarray = r <= 1.0
    return inside


def _visible_part(shape: tuple[int, ...], spacing: np.ndarray, center: np.ndarray, semi: np.ndarray,
                  lung_box: np.ndarray, ss: int = 3) -> tuple[float, float]:
    """(fraction of the ellipsoid's volume inside the lung region, its longest axial chord there in mm).

    The chord joins supersample centres, which fall short of the continuous outline by about one fine step:
    that step is added back."""
    fine = _inside_fine(shape, spacing, center, semi, np.zeros(3), ss)
    lung_fine = np.repeat(np.repeat(np.repeat(lung_box, ss, 0), ss, 1), ss, 2)
    seen = fine & lung_fine
    fraction = float(seen.sum()) / max(float(fine.sum()), 1.0)
    step = spacing[1:] / ss
    longest = 0.0
    for plane in seen:
        pts = np.argwhere(plane) * step
        if len(pts) < 2:
            continue
        if len(pts) > 4:
            pts = pts[ConvexHull(pts).vertices]
        longest = max(longest, float(np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1)).max()))
    return fraction, (longest + float(step.mean()) if longest > 0 else 0.0)


def insert_nodule(
    hu: np.ndarray,
    spacing: tuple[float, float, float],
    center_index: np.ndarray,
    diameter_mm: float,
    density: str,
    rng: np.random.Generator,
    noise_hu: float,
    thickness_mm: float,
    lung: np.ndarray | None = None,
) -> tuple[float, float, float, float, float, float]:
    """Write one nodule into `hu` in place; returns (axial long axis, volume mm3, solid core long axis, HU,
    and the axial long axis and volume of its part inside `lung`, the host's lung region)."""
    sp = np.array(spacing, float)
    ratio = rng.uniform(0.8, 1.0, size=2)
    semi_xy = diameter_mm / 2.0
    semi = np.array([semi_xy * ratio[0], semi_xy * ratio[1], semi_xy])  # x semi-axis is the long one (axial)
    if rng.random() < 0.5:
        semi[[1, 2]] = semi[[2, 1]]
    lob = np.zeros(3)  # smooth ellipsoids: the truth long axis and volume are then exact
    half = (semi.max() * 1.3 + 4.0) / sp
    lo = np.maximum(np.floor(center_index - half).astype(int), 0)
    hi = np.minimum(np.ceil(center_index + half).astype(int) + 1, np.array(hu.shape))
    shape = tuple(int(v) for v in hi - lo)
    c = center_index - lo
    occ = _occupancy(shape, sp, c, semi, lob)
    if density == "solid":
        value = rng.uniform(-20.0, 60.0)
        level = occ * value
        frac = occ
        solid_mm = 2 * max(semi[1], semi[2])
    elif density == "ground-glass":
        value = rng.uniform(-680.0, -480.0)
        level = occ * value
        frac = occ
        solid_mm = 0.0
    else:
        value = rng.uniform(-650.0, -500.0)
        k = rng.uniform(0.35, 0.6)
        core = _occupancy(shape, sp, c, semi * k, np.zeros(3))
        solid_value = rng.uniform(-20.0, 50.0)
        level = occ * value + core * (solid_value - value)
        frac = occ
        solid_mm = 2 * max(semi[1], semi[2]) * k
    sigma_mm = np.array([max(thickness_mm, sp[0]) / 2.35, 0.6, 0.6])
    sigma = sigma_mm / sp
    level = ndimage.gaussian_filter(level.astype(np.float32), sigma)
    frac = ndimage.gaussian_filter(frac.astype(np.float32), sigma)
    box = hu[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].astype(np.float32)
    noise = ndimage.gaussian_filter(rng.normal(0, 1, size=shape).astype(np.float32), 0.7)
    noise *= noise_hu / max(float(noise.std()), 1e-6)
    mixed = box * (1 - frac) + level + frac * noise
    out = np.maximum(mixed, box)
    hu[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = np.clip(np.rint(out), -1024, 3071).astype(hu.dtype)
    axial_long = 2 * max(semi[1], semi[2])
    volume = float(4.0 / 3.0 * np.pi * semi.prod())
    seen_long, seen_volume = float(axial_long), volume
    if lung is not None:
        lung_box = lung[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
        if not np.all(lung_box[occ > 0]):
            fraction, chord = _visible_part(shape, sp, c, semi, lung_box)
            seen_long = min(float(axial_long), chord)
            seen_volume = volume * fraction
    return float(axial_long), volume, float(solid_mm), float(value), seen_long, seen_volume


def _pick_centers(maps: tuple[np.ndarray, np.ndarray], spacing: np.ndarray, placement: str, radius_mm: float,
                  rng: np.random.Generator, taken: list[tuple[np.ndarray, float]]) -> np.ndarray | None:
    to_pleura, to_vessel = maps
    if placement == "juxtapleural":
        sel = (to_pleura > radius_mm * 0.55) & (to_pleura < radius_mm * 0.85 + 0.5)
    elif placement == "juxtavascular":
        sel = (np.abs(to_vessel - radius_mm * 0.9) < 0.7) & (to_pleura > radius_mm + 2.0)
    else:
        sel = (to_pleura > radius_mm + 3.0) & (to_vessel > radius_mm + 1.0)
    # the whole nodule inside the scan: keep its centre a radius (+2 mm) from the first and last slice
    margin = int(np.ceil((radius_mm + 2.0) / spacing[0]))
    sel[:margin] = False
    sel[max(0, sel.shape[0] - margin):] = False
    cand = np.argwhere(sel)
    for _ in range(50):
        if len(cand) == 0:
            return None
        c = cand[rng.integers(len(cand))].astype(float)
        mm = c * spacing
        if all(np.linalg.norm(mm - t * spacing) > radius_mm + r + 12.0 for t, r in taken):
            return c
    return None


def simulate_scan(
    hu: np.ndarray,
    spacing: tuple[float, float, float],
    index_to_lps: object,
    thickness_mm: float,
    n_nodules: int,
    seed: int,
    diameters: tuple[float, float] = (4.0, 30.0),
    avoid: list[tuple[np.ndarray, float]] | None = None,
    kind: tuple[str, str] | None = None,
) -> tuple[np.ndarray, list[SimulatedNodule]]:
    """A copy of `hu` with up to `n_nodules` simulated nodules, and their truth.

    `kind` (density, placement) makes every nodule of that kind (development harnesses that study one kind); the
    random draws stay the same, so without it a seed gives the same scan as always."""
    rng = np.random.default_rng(seed)
    out = hu.copy()
    sp = np.array(spacing, float)
    lung = host_lung_region(hu)
    noise = host_noise_hu(hu, lung)
    taken: list[tuple[np.ndarray, float]] = list(avoid or [])
    to_pleura = ndimage.distance_transform_edt(lung, sampling=sp).astype(np.float32)
    to_vessel = ndimage.distance_transform_edt(~(lung & (hu > -500)), sampling=sp).astype(np.float32)
    truth: list[SimulatedNodule] = []
    for _ in range(n_nodules):
        d = float(np.exp(rng.uniform(np.log(diameters[0]), np.log(diameters[1]))))
        density = DENSITIES[int(rng.choice(3, p=[0.5, 0.25, 0.25]))]
        placement = PLACEMENTS[int(rng.choice(3, p=[0.5, 0.25, 0.25]))]
        if kind is not None:
            density, placement = kind
        c = _pick_centers((to_pleura, to_vessel), sp, placement, d / 2, rng, taken)
        if c is None:
            continue
        long_mm, vol_mm3, solid_mm, value, seen_mm, seen_mm3 = insert_nodule(out, spacing, c, d, density, rng, noise,
                                                                               thickness_mm, lung)
        taken.append((c, d / 2))
        lps = index_to_lps(c)  # type: ignore[operator]
        ci = (float(c[0]), float(c[1]), float(c[2]))
        li = (float(lps[0]), float(lps[1]), float(lps[2]))
        truth.append(SimulatedNodule(ci, li, long_mm, vol_mm3, density, solid_mm, placement, value, seen_mm, seen_mm3))
    return out, truth
