"""Candidate detection: multi-scale blob response (scale-normalised Laplacian of Gaussian) inside the lungs.

A pyramid keeps it cheap: each level is the lung box resampled to an isotropic grid of `mm` and searched at two
scales of 1-2 voxels, so a 4 mm nodule is looked for at 1.25 mm and a 30 mm one at 5 mm. Local maxima above a
low threshold become candidates, ranked by response times the Hessian's blob ratio (vessels answer the LoG as
strongly as nodules but are tubes): the first of each level, and beside them the first of those centred below
solid density (ground glass), which would otherwise lose every place to vessel junctions. The classifier
(`classify.py`) decides which are nodules.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from dualsign.analyzers.ct_nodule.grid import WORKERS, bounding_box
from dualsign.analyzers.ct_nodule.lungs import LungMasks
from dualsign.analyzers.ct_nodule.read import CTVolume

# (grid mm, radii mm searched on that grid, most candidates kept from the level): radius r <-> sigma = r / sqrt(3).
# The caps are generous because peaks are ranked by raw response, where faint lesions rank below vessel junctions.
LEVELS: tuple[tuple[float, tuple[float, ...], int], ...] = (
    (1.25, (2.0, 2.9), 300),
    (2.5, (4.2, 6.0), 200),
    (5.0, (8.5, 12.0), 100),
    (8.0, (17.0, 25.0), 50),
)
MIN_RESPONSE_HU = 40.0
SUBSOLID_HU = -300.0  # a peak centred below this (ground glass, or the halo of a part-solid lesion) ...
SUBSOLID_KEEP = 100  # ... competes only with its like for this many places per level
POOL = 20000  # most peaks per level ranked (by LoG response first; a 1.25 mm lung grid has about 12,000)
# Faint lesions on the pleura: their blob response is swallowed by the wall's. On these levels the wall (and its
# partial-volume rim) is replaced by the lung around it and searched again near the wall, up to this many peaks.
PLEURAL_KEEP = {1: 100, 2: 30}
WALL_FILL_MM = 10.0  # scale of the local lung background that replaces the wall
FEATURES = (
    "level", "radius_mm", "response", "center_hu", "background_hu", "contrast", "response_per_contrast",
    "blob_ratio", "tube_ratio", "plate_ratio", "inner_fill", "shell_fill", "shell_fill_max_sector",
)


@dataclass
class Candidate:
    center_index: np.ndarray  # native [z, y, x]
    radius_mm: float
    response: float
    center_hu: float
    features: np.ndarray


def _lung_box(lungs: LungMasks, shape: tuple[int, int, int]) -> tuple[slice, slice, slice] | None:
    box = bounding_box(lungs.closed)
    if box is None:
        return None
    f = lungs.factor
    return tuple(  # type: ignore[return-value]
        slice(b.start * k, min(n, b.stop * k)) for b, k, n in zip(box, f, shape, strict=True)
    )


def find_candidates(vol: CTVolume, lungs: LungMasks, pleural_pool: bool = True) -> list[Candidate]:
    """Candidates of every level: the strongest blobs, the ground-glass quota and, with `pleural_pool`, the
    pleural pool."""
    box = _lung_box(lungs, vol.shape)
    if box is None:
        return []
    lo = np.array([b.start for b in box], float)
    sub = vol.hu[box].astype(np.float32)
    sp = np.array(vol.spacing)
    found: list[Candidate] = []
    found_faint: list[Candidate] = []
    for level, (grid_mm, radii, keep) in enumerate(LEVELS):
        zoom = sp / grid_mm
        if np.any(np.array(sub.shape) * zoom < 4):
            continue
        img = ndimage.zoom(sub, zoom, order=1, mode="nearest", grid_mode=True)
        # the searched lung region on this grid
        f = np.array(lungs.factor)
        idx = [np.clip(((lo[a] + (np.arange(img.shape[a]) + 0.5) / zoom[a]) // f[a]).astype(int), 0,
                       lungs.closed.shape[a] - 1) for a in range(3)]
        region = lungs.closed[np.ix_(idx[0], idx[1], idx[2])]
        # the scales in parallel (scipy's filters release the GIL), combined in order: the same result
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            responses = list(pool.map(lambda r, img=img, g=grid_mm: _blob_response(img, r, g), radii))
        best, best_r = _best_scale(responses, radii)
        peaks = (best == ndimage.maximum_filter(best, size=3)) & region & (best > MIN_RESPONSE_HU) & (img > -750)
        ranked = _ranked_pool(peaks, best, best_r, img, grid_mm)
        grid = np.full(3, grid_mm)
        kept = _strongest(ranked, grid, keep)
        # Faint ground-glass and part-solid lesions rank below the dense vessel junctions, so peaks whose centre is
        # below solid density get a quota of their own (those not already inside a kept candidate).
        faint = _outside(_strongest([c for c in ranked if c.center_hu < SUBSOLID_HU], grid, SUBSOLID_KEEP), kept,
                         grid)
        pleural: list[Candidate] = []
        if pleural_pool and level in PLEURAL_KEEP:
            pleural = _pleural(img, region, radii, grid_mm, level, PLEURAL_KEEP[level], kept + faint)
        for cand in kept + faint:
            p = cand.center_index.astype(int)
            cand.features = patch_features(img, p, cand.radius_mm / grid_mm, level, cand.response, cand.features)
            cand.center_index = lo + (cand.center_index + 0.5) / zoom - 0.5
        for cand in pleural:
            cand.center_index = lo + (cand.center_index + 0.5) / zoom - 0.5
        found += kept
        found_faint += faint + pleural
    return found + found_faint  # the faint ones last: the strongest keep their order


def _best_scale(responses: list[np.ndarray], radii: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Per voxel, the strongest of the scales' responses and its radius (the first scale wins a tie)."""
    best = np.full(responses[0].shape, -np.inf, np.float32)
    best_r = np.zeros(responses[0].shape, np.float32)
    for r, resp in zip(radii, responses, strict=True):
        better = resp > best
        best[better] = resp[better]
        best_r[better] = r
    return best, best_r


def wall_filled(img: np.ndarray, grid_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """The image with every voxel at or above SUBSOLID_HU, and the one-voxel partial-volume rim around them,
    replaced by the local lung background (a Gaussian mean over the other voxels), and that replaced mask."""
    dense = ndimage.binary_dilation(img >= SUBSOLID_HU)
    keep = (~dense).astype(np.float32)
    sigma = WALL_FILL_MM / grid_mm
    weight = ndimage.gaussian_filter(keep, sigma, mode="nearest")
    mean = ndimage.gaussian_filter(np.where(dense, 0.0, img).astype(np.float32), sigma, mode="nearest")
    background = np.where(weight > 1e-3, mean / np.maximum(weight, 1e-3), -850.0)
    return np.where(dense, background, img).astype(np.float32), dense


def _pleural(img: np.ndarray, region: np.ndarray, radii: tuple[float, ...], grid_mm: float, level: int, keep: int,
             existing: list[Candidate]) -> list[Candidate]:
    """Blob peaks of the wall-filled image within a radius + 2 mm of the chest wall, outside the candidates found
    already; features from the wall-filled image, where a lesion on the pleura is a blob of its own."""
    filled, dense = wall_filled(img, grid_mm)
    # the wall: dense voxels outside the searched lung region, opened so a vessel's cross-section drops out
    wall = ndimage.binary_opening(dense & ~region)
    to_wall = ndimage.distance_transform_edt(~wall) * grid_mm
    best, best_r = _best_scale([_blob_response(filled, r, grid_mm) for r in radii], radii)
    peaks = ((best == ndimage.maximum_filter(best, size=3)) & region & ~dense & (best > MIN_RESPONSE_HU)
             & (filled > -750) & (to_wall <= best_r + 2.0))
    grid = np.full(3, grid_mm)
    cands = _outside(_strongest(_ranked_pool(peaks, best, best_r, filled, grid_mm), grid, keep), existing, grid)
    for cand in cands:
        p = cand.center_index.astype(int)
        cand.features = patch_features(filled, p, cand.radius_mm / grid_mm, level, cand.response, cand.features)
    return cands


def _ranked_pool(peaks: np.ndarray, best: np.ndarray, best_r: np.ndarray, img: np.ndarray, grid_mm: float
                 ) -> list[Candidate]:
    """The peaks (the POOL strongest by LoG response at most), ranked by response x blob ratio.

    The LoG answers as strongly on a vessel of the same radius as on a nodule; the Hessian's smallest eigenvalue
    (along a vessel's axis, about 0) does not, so weighting by |l3| / |l1| ranks round blobs above tubes (the
    "dot" enhancement of Li, Sone and Doi 2003). Candidate `center_index` holds the grid index until placed and
    `features` the Hessian eigenvalues.
    """
    pts = np.argwhere(peaks)
    pts = pts[np.argsort(-best[peaks])[:POOL]]
    radii = best_r[tuple(pts.T)]
    eig = np.zeros((len(pts), 3))
    for r in np.unique(radii):
        sel = radii == r
        eig[sel] = hessian_eigenvalues(img, pts[sel], max(float(r) / np.sqrt(3) / grid_mm, 0.8))
    blob = _eigen_ratios(eig)[:, 0]
    response = best[tuple(pts.T)]
    order = np.argsort(-(response * blob), kind="stable")
    return [Candidate(pts[i].astype(np.float64), float(radii[i]), float(response[i]), float(img[tuple(pts[i])]),
                      eig[i]) for i in order]


def _strongest(pool: list[Candidate], grid: np.ndarray, keep: int) -> list[Candidate]:
    """Up to `keep` of the pool, in its order, none inside the radius of an earlier one (copies, grid index)."""
    kept = _suppress(pool, grid, keep)
    return [Candidate(c.center_index.copy(), c.radius_mm, c.response, c.center_hu, c.features) for c in kept]


def _outside(cands: list[Candidate], kept: list[Candidate], spacing: np.ndarray) -> list[Candidate]:
    """The candidates not inside the radius of one already kept."""
    if not kept:
        return cands
    pts = np.array([c.center_index * spacing for c in kept])
    radii = np.array([c.radius_mm for c in kept])
    return [c for c in cands
            if not np.any(np.linalg.norm(pts - c.center_index * spacing, axis=1) < np.maximum(radii, c.radius_mm))]


def _blob_response(img: np.ndarray, radius_mm: float, grid_mm: float) -> np.ndarray:
    """Scale-normalised negative Laplacian of Gaussian for a blob of `radius_mm` (sigma = r / sqrt(3))."""
    sigma = radius_mm / np.sqrt(3) / grid_mm
    out: np.ndarray = -(sigma**2) * ndimage.gaussian_laplace(img, sigma, mode="nearest")
    return out


def patch_features(img: np.ndarray, p: np.ndarray, r_vox: float, level: int, response: float,
                   eigenvalues: np.ndarray) -> np.ndarray:
    """Shape and contrast around one peak, on a small patch of its level image (cheap, scale-free)."""
    half = int(np.ceil(2.5 * r_vox)) + 2
    lo = np.maximum(p - half, 0)
    hi = np.minimum(p + half + 1, np.array(img.shape))
    patch = img[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    c = p - lo
    zz, yy, xx = np.indices(patch.shape, dtype=np.float32)
    dz, dy, dx = zz - c[0], yy - c[1], xx - c[2]
    dist = np.sqrt(dz * dz + dy * dy + dx * dx)
    center = float(patch[tuple(c)])
    ring = (dist > 1.8 * r_vox) & (dist <= 2.5 * r_vox + 1)
    background = float(np.median(patch[ring])) if ring.any() else -850.0
    contrast = max(center - background, 1.0)
    half_level = background + 0.5 * contrast
    inner = dist <= max(r_vox, 1.0)
    shell = (dist > 1.3 * r_vox + 0.5) & (dist <= 2.2 * r_vox + 1)
    above = patch > half_level
    inner_fill = float(above[inner].mean()) if inner.any() else 0.0
    shell_fill = float(above[shell].mean()) if shell.any() else 0.0
    # the shell's densest octant: one-sided contact (pleura) vs all-round (inside a vessel tree)
    octant = (dz > 0).astype(int) * 4 + (dy > 0).astype(int) * 2 + (dx > 0).astype(int)
    sectors = [float(above[shell & (octant == k)].mean()) for k in range(8) if (shell & (octant == k)).any()]
    sector_max = max(sectors) if sectors else 0.0
    blob, tube, plate = _eigen_ratios(np.asarray(eigenvalues, float)[None, :])[0]
    return np.array([level, r_vox, response, center, background, contrast, response / contrast, blob, tube, plate,
                     inner_fill, shell_fill, sector_max], np.float32)


def _gaussian_weights(sigma: float, order: int, radius: int) -> np.ndarray:
    """The 1-D weights scipy's `gaussian_filter1d` correlates with (its kernel, reversed) for order 0, 1 or 2."""
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    phi = np.exp(-0.5 * x * x / (sigma * sigma))
    phi /= phi.sum()
    s2 = sigma * sigma
    kernel = phi if order == 0 else (-x / s2 * phi if order == 1 else (x * x / (s2 * s2) - 1.0 / s2) * phi)
    return kernel[::-1]


def hessian_eigenvalues(img: np.ndarray, pts: np.ndarray, sigma: float) -> np.ndarray:
    """Eigenvalues of the Gaussian-scale Hessian at each point (N x 3), ordered |l1| >= |l2| >= |l3|.

    The derivatives are needed at the points only: separable weighted sums over the cube around each point (the
    image's edge repeated, as scipy's mode "nearest"), not six filtered copies of the image.
    """
    if len(pts) == 0:
        return np.zeros((0, 3))
    radius = int(4.0 * sigma + 0.5)  # scipy's default truncation
    padded = np.pad(img, radius, mode="edge")
    k = np.arange(2 * radius + 1)
    w = [_gaussian_weights(sigma, o, radius).astype(np.float32) for o in range(3)]
    h6 = np.empty((len(pts), 6))
    for start in range(0, len(pts), 2048):  # bounded memory: 2048 cubes at a time
        p = np.asarray(pts[start : start + 2048], int)
        cubes = padded[(p[:, 0, None, None, None] + k[:, None, None]), (p[:, 1, None, None, None] + k[None, :, None]),
                       (p[:, 2, None, None, None] + k[None, None, :])].astype(np.float32)
        along_x = [cubes @ w[o] for o in range(3)]  # (n, K, K) per x order
        for j, (oz, oy, ox) in enumerate(((2, 0, 0), (0, 2, 0), (0, 0, 2), (1, 1, 0), (1, 0, 1), (0, 1, 1))):
            h6[start : start + len(p), j] = (along_x[ox] @ w[oy]) @ w[oz]
    hzz, hyy, hxx, hzy, hzx, hyx = h6.T
    h = np.stack([np.stack([hzz, hzy, hzx], -1), np.stack([hzy, hyy, hyx], -1), np.stack([hzx, hyx, hxx], -1)], -2)
    ev = np.linalg.eigvalsh(h)
    order = np.argsort(-np.abs(ev), axis=1)
    return np.take_along_axis(ev, order, axis=1)


def _eigen_ratios(ev: np.ndarray) -> np.ndarray:
    """Per row of Hessian eigenvalues (|l1| >= |l2| >= |l3|): blob |l3|/|l1|, tube |l2|/|l1|, count of l < 0."""
    mags = np.abs(ev)
    safe = np.where(mags[:, 0] > 1e-6, mags[:, 0], 1.0)
    valid = mags[:, 0] > 1e-6
    return np.stack([np.where(valid, mags[:, 2] / safe, 0.0), np.where(valid, mags[:, 1] / safe, 0.0),
                     np.where(valid, (ev < 0).sum(1), 0.0)], 1)


def _suppress(cands: list[Candidate], spacing: np.ndarray, keep: int) -> list[Candidate]:
    """Within one level, strongest first: drop a candidate inside the radius of one already kept; stop at `keep`."""
    kept: list[Candidate] = []
    pts = np.empty((keep, 3))
    radii = np.empty(keep)
    for c in cands:
        mm = c.center_index * spacing
        n = len(kept)
        if n and np.any(np.linalg.norm(pts[:n] - mm, axis=1) < np.maximum(radii[:n], c.radius_mm)):
            continue
        pts[n], radii[n] = mm, c.radius_mm
        kept.append(c)
        if len(kept) == keep:
            break
    return kept
