"""Per-lesion 3-D segmentation and measurement in a small region resampled to a fine isotropic grid.

The boundary is the half-way level between the lesion's core and the lung around it (the usual 50 % rule, so
ground-glass and solid lesions are both outlined at their own edge). Vessels touching the lesion are cut off by
an opening sized to the lesion and a geodesic regrowth of the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from dualsign.analyzers.ct_nodule.grid import dilate, distance_inside, erode
from dualsign.analyzers.ct_nodule.read import CTVolume

SOLID_HU = -300.0  # solid tissue above this; ground glass between about -750 and -300
CALCIFIED_HU = 200.0
DEFAULT_LUNG_HU = -850.0
STUB_FRACTION = 0.5  # see _vessel_stubs
# Opening ball radii, as fractions of the lesion radius, tried in turn while a vessel still runs out of the lesion.
OPEN_LADDER = (0.45, 0.6, 0.75)
# The chest wall is told from a juxtapleural lesion by closing the lung air with a ball larger than the lesion:
# the larger the ball, the thinner the lens of lesion it leaves against the wall (about b^2 / 2R for a contact
# disc of radius b), so it is computed on a grid twice as coarse to stay cheap.
WALL_BALL = (4.0, 4.0)  # radius = a * lesion radius + b mm
WALL_GRID = 2
SOLID_STUB_MAX_MM = 10.0  # lesion radius up to which a solid lesion's cut vessel stubs are dropped
# a solid part as long as the lesion makes it solid only with this share of its volume: a vessel crossing a
# ground-glass nodule is long but thin
SOLID_MIN_FRACTION = 0.2
PROFILE_VOXELS_PER_RADIUS = 12.0  # see profile_radius
PROFILE_MIN_SCALE = 0.3  # see segment
# An outline longer than PROFILE_LONG_MAX x the profile's diameter has followed something the shells do not show
# (a vessel, the wall): outlined again within PROFILE_CLIP x the profile radius (lesions up to SOLID_STUB_MAX_MM).
PROFILE_LONG_MAX = 1.2
PROFILE_CLIP = 1.1
SOLID_TYPES = ("solid", "calcified")
HALO_MIN_MM = 1.5  # narrowest ground-glass layer read as a halo (a blurred solid edge is narrower)
CORE_ABOVE_HALO_HU = 200.0  # see _segment_once


@dataclass
class Segmentation:
    ok: bool
    center_index: np.ndarray = field(default_factory=lambda: np.zeros(3))  # native [z, y, x]
    volume_mm3: float = 0.0
    long_axis_mm: float = 0.0
    short_axis_mm: float = 0.0
    axial_slice_index: int = 0  # native slice of the largest axial extent
    mean_hu: float = 0.0
    max_hu: float = 0.0
    core_hu: float = 0.0
    lung_hu: float = DEFAULT_LUNG_HU
    solid_part_mm: float = 0.0
    solid_fraction: float = 0.0
    density: str = "solid"
    # shape / context features for the candidate classifier
    elongation: float = 1.0
    border_fraction: float = 0.0
    fill_ratio: float = 0.0
    # the outline's longest axial extent over its largest slices (the reported long axis is that of the largest
    # slice alone), or before the profile check cut an attached vessel off: the detector's candidates in that reach
    # belong to this lesion (a candidate on the vessel stub is not a lesion of its own)
    extent_mm: float = 0.0
    # the first opening left a structure running out of the searched sphere (a vessel through or beside it)
    attached: bool = False


def _closed_coarse(air: np.ndarray, center: np.ndarray, reach: float, iso: float, k: int) -> np.ndarray:
    """`_closed_near` on every k-th voxel, repeated back to the full grid (the exact air is added by the caller)."""
    if k <= 1:
        return _closed_near(air, center, reach, iso)
    small = air[::k, ::k, ::k]
    closed = _closed_near(small, np.asarray(center) // k, reach, iso * k)
    big = np.repeat(np.repeat(np.repeat(closed, k, 0), k, 1), k, 2)
    return big[: air.shape[0], : air.shape[1], : air.shape[2]]


def _closed_near(air: np.ndarray, center: np.ndarray, reach: float, iso: float) -> np.ndarray:
    """`air` closed with a ball of radius `reach` (the ROI's edge slices repeated outwards), valid within `reach`
    of `center` and False elsewhere: the outline never goes farther, so the erosion runs only on the box those
    voxels can see."""
    pad = int(np.ceil(reach / iso)) + 1
    grown = dilate(np.pad(air, pad, mode="edge"), reach, iso)
    c = np.asarray(center, int) + pad
    near, seen = int(np.ceil(reach / iso)) + 1, int(np.ceil(2 * reach / iso)) + 2
    keep = tuple(slice(max(pad, k - near), min(n - pad, k + near + 1)) for k, n in zip(c, grown.shape, strict=True))
    view = tuple(slice(max(0, k - seen), min(n, k + seen + 1)) for k, n in zip(c, grown.shape, strict=True))
    eroded = distance_inside(grown[view], iso) > reach
    out = np.zeros(air.shape, bool)
    out[tuple(slice(k.start - pad, k.stop - pad) for k in keep)] = eroded[
        tuple(slice(k.start - v.start, k.stop - v.start) for k, v in zip(keep, view, strict=True))]
    return out


def edge_points(mask2d: np.ndarray, image2d: np.ndarray, level: float) -> np.ndarray:
    """The outline's edge to sub-pixel precision, in pixel units: between each mask pixel and each 4-neighbour
    outside it, the point where `image2d` falls through `level` (linear interpolation of the two pixel values);
    half-way between the two where it does not fall (the outline was cut there, from a vessel or the wall)."""
    m = np.pad(mask2d, 1)
    img = np.pad(image2d.astype(np.float64), 1, mode="edge")
    out: list[np.ndarray] = []
    for axis in (0, 1):
        for step in (1, -1):
            edge = m & ~np.roll(m, -step, axis=axis)  # the pad keeps np.roll from wrapping a True pixel round
            v_in = img[edge]
            v_out = np.roll(img, -step, axis=axis)[edge]
            falls = v_out < level
            t = np.where(falls, (v_in - level) / np.maximum(v_in - v_out, 1e-6), 0.5)
            pts = np.argwhere(edge).astype(np.float64)
            pts[:, axis] += step * np.clip(t, 0.0, 1.0)
            out.append(pts - 1.0)
    return np.concatenate(out)


def axes_2d(mask2d: np.ndarray, px: float, image2d: np.ndarray | None = None,
            level: float | None = None) -> tuple[float, float]:
    """Longest chord (Feret) and the widest extent perpendicular to it, in mm.

    With the image the mask was thresholded from and its level, the chord runs between sub-pixel edge points
    (`edge_points`): on blurred digital ellipses 6-30 pixels long it is unbiased within 0.2 pixel. Without, it
    runs between the centres of the edge pixels plus one pixel, which reads 0.3-0.6 pixel long (kept for the
    mass stage, whose masses are tens of pixels long)."""
    if image2d is not None and level is not None:
        pts = edge_points(mask2d, image2d, level) * px
        pad = 0.0
    else:
        edge = mask2d & ~ndimage.binary_erosion(mask2d)
        pts = np.argwhere(edge).astype(np.float64) * px
        pad = px
    if len(pts) < 2:
        return px, px
    if len(pts) > 600:
        pts = pts[:: len(pts) // 600 + 1]
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    i, j = np.unravel_index(int(np.argmax(d)), d.shape)
    long_mm = float(d[i, j])
    u = (pts[j] - pts[i]) / max(long_mm, 1e-9)
    perp = pts @ np.array([-u[1], u[0]])
    return max(long_mm + pad, px), max(float(perp.max() - perp.min()) + pad, px)


def largest_slice(mask: np.ndarray) -> int:
    """The axial slice (first axis) of largest area: the one the long and short axes are measured on. The longest
    of a few neighbours would take the noisiest edge (a maximum of maxima, biased long)."""
    return int(np.argmax(mask.sum(axis=(1, 2))))


def segment(
    vol: CTVolume,
    center_zyx: np.ndarray,
    radius_mm: float,
    allowed: np.ndarray | None = None,
    allowed_factor: tuple[int, int, int] = (1, 1, 1),
) -> Segmentation:
    """Outline the lesion at the radius its radial profile shows (the detector's scale when the profile shows
    none), then once more at the radius the first outline implies when that was off by more than 15 % (the ring,
    opening and search reach all scale with the radius).

    The profile (shell medians) is blind to a vessel or the wall touching the lesion, the outline is not: an outline
    much longer than the profile's diameter is redone around its own centre, within a sphere a little larger than
    the profile radius read from there. Only up to SOLID_STUB_MAX_MM: a large spiculated tumour's spicules are its
    own (the real LIDC-IDRI-0001 nodule)."""
    found = radial_profile(vol, center_zyx, radius_mm, allowed, allowed_factor)
    profile = found[0] if found is not None else None
    # A blob-detector scale answers an object of about its size: a profile under PROFILE_MIN_SCALE of it found
    # something else (a vessel or solid core beside an off-centre candidate on a large lesion).
    if profile is not None and profile < PROFILE_MIN_SCALE * radius_mm:
        profile = None
    if profile is not None:
        radius_mm = profile
    first = _segment_once(vol, center_zyx, radius_mm, allowed, allowed_factor)
    if not first.ok:
        return first
    implied = float((3.0 * first.volume_mm3 / (4.0 * np.pi)) ** (1.0 / 3.0))
    best = first
    if abs(implied - radius_mm) > 0.15 * radius_mm:
        second = _segment_once(vol, center_zyx, implied, allowed, allowed_factor)
        best = second if second.ok else first
    if profile is not None and profile <= SOLID_STUB_MAX_MM and best.extent_mm > 2.0 * profile * PROFILE_LONG_MAX:
        # Read the profile again from the outline's own centre: a detector centre off the lesion's shortens the
        # shells' radius as much as a vessel lengthens the outline.
        centre = best.center_index
        again = radial_profile(vol, centre, profile, allowed, allowed_factor)
        # a solid edge is the whole lesion only when the outline is solid too: a ground-glass or part-solid outline
        # around it has a faint layer the shells missed (or is a small solid nodule blurred across thick slices)
        if (again is not None and again[0] <= SOLID_STUB_MAX_MM and (not again[1] or best.density in SOLID_TYPES)
                and best.extent_mm > 2.0 * again[0] * PROFILE_LONG_MAX):
            clipped = _segment_once(vol, centre, again[0], allowed, allowed_factor, PROFILE_CLIP * again[0])
            if clipped.ok:
                clipped.extent_mm = best.extent_mm
                best = clipped
    return best


def profile_radius(vol: CTVolume, center_zyx: np.ndarray, radius_mm: float, allowed: np.ndarray | None = None,
                   allowed_factor: tuple[int, int, int] = (1, 1, 1), step_mm: float = 0.5) -> float | None:
    """The lesion's radius from the median HU of thin shells around its centre, or None when unclear (see
    `radial_profile`)."""
    found = radial_profile(vol, center_zyx, radius_mm, allowed, allowed_factor, step_mm)
    return None if found is None else found[0]


def radial_profile(vol: CTVolume, center_zyx: np.ndarray, radius_mm: float, allowed: np.ndarray | None = None,
                   allowed_factor: tuple[int, int, int] = (1, 1, 1), step_mm: float = 0.5
                   ) -> tuple[float, bool] | None:
    """The lesion's radius from the median HU of thin shells around its centre, and whether that radius is a solid
    edge with no ground-glass layer seen beyond it; None when unclear.

    The detector's scale can be that of a part-solid lesion's solid core (then the ground-glass halo is missed) or
    a blob larger than a small solid nodule (then its blurred edge looks like a halo). The shell medians, robust
    to the odd vessel, show which: a halo is a plateau of ground-glass density (at least HALO_MIN_MM wide) between
    the solid edge and the lung; the radius is where the outermost layer falls half-way to the lung. Only voxels
    of the searched lung region (`allowed`, as in `_segment_once`) count, so the chest wall is not a layer.
    Large blobs are read on every k-th voxel (about PROFILE_VOXELS_PER_RADIUS voxels per radius, as the outline
    uses) and coarser shells, so the box costs the same whatever the radius: a part-solid lesion over 30 mm whose
    coarsest candidate is its solid core needs the profile most.
    """
    sp = np.array(vol.spacing)
    c = np.asarray(center_zyx, float)
    reach = 2.5 * radius_mm + 6.0
    stride = np.maximum(1, np.floor(radius_mm / PROFILE_VOXELS_PER_RADIUS / sp)).astype(int)
    step_mm = max(step_mm, radius_mm / (2.0 * PROFILE_VOXELS_PER_RADIUS))
    lo = np.maximum(np.floor(c - reach / sp).astype(int), 0)
    hi = np.minimum(np.ceil(c + reach / sp).astype(int) + 1, np.array(vol.shape))
    hu = vol.hu[lo[0] : hi[0] : stride[0], lo[1] : hi[1] : stride[1], lo[2] : hi[2] : stride[2]]
    grids = np.ogrid[tuple(slice(0, n) for n in hu.shape)]
    dist = np.sqrt(sum(((g * stride[a] + lo[a] - c[a]) * sp[a]) ** 2 for a, g in enumerate(grids)))
    shell = (dist / step_mm).astype(int)
    n = int(reach / step_mm)
    inside = shell < n
    if allowed is not None:
        cells = [np.clip((np.arange(lo[a], hi[a], stride[a]) // allowed_factor[a]), 0, allowed.shape[a] - 1)
                 for a in range(3)]
        inside &= allowed[np.ix_(*cells)]
    counts = np.bincount(shell[inside], minlength=n)
    near_mm = max(1.0, float((sp * stride).max()))  # the centre's own voxels, also between thick slices
    if counts[: max(1, int(np.ceil(near_mm / step_mm)))].sum() == 0:  # the centre lies outside the lung region
        return None
    order = np.lexsort((hu[inside], shell[inside]))
    sorted_hu = hu[inside][order].astype(np.float64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    med = np.array([sorted_hu[s + k // 2] if k else np.nan for s, k in zip(starts, counts, strict=True)])
    med = _fill_gaps(med)
    r = (np.arange(n) + 0.5) * step_mm
    core = float(np.max(med[r <= max(0.5 * radius_mm, 1.0)]))
    far = med[(r >= 2.0 * radius_mm + 2.0)]
    lung = float(np.median(far[far < -600])) if np.sum(far < -600) >= 2 else DEFAULT_LUNG_HU
    if core - lung < 120:
        return None
    first_below = _first_below(med, 0.5 * (min(core, 0.0) + lung))
    if first_below is None:
        return None
    if core > SOLID_HU:  # solid centre: look for a ground-glass plateau beyond the solid edge
        tail = med[first_below:]
        plateau = (tail > lung + 150) & (tail < SOLID_HU)
        run = _leading_run(plateau)
        if run * step_mm >= HALO_MIN_MM:
            halo = float(np.median(tail[:run]))
            out = _first_below(tail, 0.5 * (halo + lung))
            if out is not None:
                return float(r[first_below + out]), False
    return float(r[first_below]), core > SOLID_HU


def _fill_gaps(med: np.ndarray) -> np.ndarray:
    """Empty shells (finer than the voxels near the centre) take the value of the shell before them; empty
    shells at the centre itself (a centre between thick slices) that of the first shell with voxels."""
    out = med.copy()
    valid = np.nonzero(~np.isnan(out))[0]
    if valid.size:
        out[: valid[0]] = out[valid[0]]
    for k in range(1, len(out)):
        if np.isnan(out[k]):
            out[k] = out[k - 1]
    return out


def _first_below(values: np.ndarray, level: float) -> int | None:
    idx = np.nonzero(values < level)[0]
    return int(idx[0]) if idx.size else None


def _leading_run(flags: np.ndarray) -> int:
    """Length of the run of True at the start of `flags`."""
    idx = np.nonzero(~flags)[0]
    return int(idx[0]) if idx.size else len(flags)


def _vessel_stubs(comp: np.ndarray, core_part: np.ndarray, reach_mm: float, iso: float) -> np.ndarray:
    """What regrowing the opened core by `reach_mm` inside `comp` would bring back that is a cut vessel, not a
    lobule: a part standing out more than a voxel beyond the core that the cut truncated (the structure goes on
    beyond the reach) and that is nowhere thicker than a vessel (inscribed radius below STUB_FRACTION of the
    reach). A lobule ends where it ends and stays, however thin."""
    limit = dilate(core_part, reach_mm, iso)
    beyond = comp & limit & ~dilate(core_part, 1.5 * iso, iso)
    lab, n = ndimage.label(beyond)
    if n == 0:
        return beyond
    index = np.arange(1, n + 1)
    thickness = np.asarray(ndimage.maximum(distance_inside(beyond, iso), lab, index=index))
    cut = np.asarray(ndimage.maximum(dilate(comp & ~limit, 1.5 * iso, iso), lab, index=index)) > 0
    stubs = index[(thickness < max(STUB_FRACTION * reach_mm, 1.5 * iso)) & cut]
    out: np.ndarray = np.isin(lab, stubs)
    return out


def _open_off_vessels(comp: np.ndarray, cr: np.ndarray, dist: np.ndarray, radius_mm: float, reach: float,
                      iso: float) -> tuple[np.ndarray | None, float, bool]:
    """The lesion's core: `comp` opened with a ball, the component at the centre, and whether it was attached.

    A vessel as thick as the first ball survives the opening and still runs out to the edge of the searched
    sphere; then the ball grows (a lesion ends inside the sphere, a vessel does not) while a core remains.
    Returns (core or None, ball radius, whether the first opening left a structure running out of the sphere).
    """
    best: tuple[np.ndarray | None, float] = (None, 1.0)
    attached = False
    for k, frac in enumerate(OPEN_LADDER):
        rho_mm = float(np.clip(frac * radius_mm, 1.0, 5.0))
        opened = dilate(erode(comp, rho_mm, iso), rho_mm, iso)
        olab, _ = ndimage.label(opened)
        oseed = olab[tuple(cr)]
        if oseed == 0 and opened.any():
            near = np.where(opened, dist, np.inf)
            if near.min() <= radius_mm:
                oseed = olab[np.unravel_index(int(np.argmin(near)), near.shape)]
        if oseed == 0:
            break
        core_part = olab == oseed
        best = (core_part, rho_mm)
        runs_out = bool(np.any(dist[core_part] >= reach - rho_mm - 2 * iso))
        if k == 0:
            attached = runs_out
        if not runs_out:
            break
    return best[0], best[1], attached


def _segment_once(
    vol: CTVolume,
    center_zyx: np.ndarray,
    radius_mm: float,
    allowed: np.ndarray | None = None,
    allowed_factor: tuple[int, int, int] = (1, 1, 1),
    max_reach_mm: float | None = None,
) -> Segmentation:
    """Outline the lesion around `center_zyx` (native index) expected to be about `radius_mm` in radius.

    `allowed` (working-grid bool mask, `allowed_factor` native voxels per cell) keeps the outline inside the
    searched lung region, which separates juxtapleural lesions from the chest wall. `max_reach_mm` caps how far
    from the centre the outline may go.
    """
    iso = float(np.clip(radius_mm / 12.0, 0.4, 1.0))  # about 12 voxels per radius, never coarser than 1 mm
    half_mm = 2.2 * radius_mm + 4.0
    sp = np.array(vol.spacing)
    c = np.asarray(center_zyx, float)
    lo = np.maximum(np.floor(c - half_mm / sp).astype(int), 0)
    hi = np.minimum(np.ceil(c + half_mm / sp).astype(int) + 1, np.array(vol.shape))
    if np.any(hi - lo < 2):
        return Segmentation(False)
    native = vol.hu[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].astype(np.float32)
    zoom = sp / iso
    roi = ndimage.zoom(native, zoom, order=1, mode="nearest")
    if allowed is not None:
        f = np.array(allowed_factor)
        idx = [np.clip(((lo[a] + (np.arange(roi.shape[a]) + 0.5) * iso / sp[a]) // f[a]).astype(int), 0,
                       allowed.shape[a] - 1) for a in range(3)]
        region = allowed[np.ix_(idx[0], idx[1], idx[2])]
    else:
        region = np.ones(roi.shape, bool)
    cr = np.clip(np.round((c - lo) * zoom).astype(int), 0, np.array(roi.shape) - 1)
    zz, yy, xx = np.indices(roi.shape, dtype=np.float32)
    dist = np.sqrt((zz - cr[0]) ** 2 + (yy - cr[1]) ** 2 + (xx - cr[2]) ** 2) * iso
    smooth = ndimage.gaussian_filter(roi, max(0.5 / iso, 0.5))
    inner = dist <= max(radius_mm * 0.5, 1.2 * iso)
    core = float(np.percentile(smooth[inner], 90))
    shell = (dist >= 1.6 * radius_mm) & (dist <= 2.4 * radius_mm + 2 * iso) & region & (roi < -600)
    lung_hu = float(np.median(roi[shell])) if shell.sum() >= 10 else DEFAULT_LUNG_HU
    if core < -750 or core - lung_hu < 120:
        return Segmentation(False, core_hu=core, lung_hu=lung_hu)
    # The outer edge is half-way between the lung and the lesion's outer layer: for a part-solid lesion that
    # layer is the ground-glass halo, not the solid core.
    # The ring must be mostly lesion: a ring in the lung around a solid nodule (radius overestimated) sees only
    # the blurred edge, which is not a halo.
    ring_all = (dist >= 0.55 * radius_mm) & (dist <= 0.85 * radius_mm)
    ring = ring_all & (smooth > lung_hu + 100)
    halo = ring.sum() >= 8 and ring.sum() >= 0.6 * ring_all.sum()
    outer = float(np.median(smooth[ring])) if halo else core
    # Solid tissue is referenced at 0 HU so calcium or contrast does not pull the edge inwards. The core of a small
    # part-solid lesion, blurred, may read below solid density: a ring clearly fainter than it is still the halo.
    level = outer if outer < SOLID_HU and (core > SOLID_HU or core - outer >= CORE_ABOVE_HALO_HU) else min(core, 0.0)
    thr = 0.5 * (level + lung_hu)
    # Local lung: parenchyma closed with a ball larger than the lesion (WALL_BALL), so a nodule on the pleura
    # stays in and the chest wall stays out.
    air = smooth < 0.5 * (lung_hu + thr)
    reach = 1.5 * radius_mm + 2.0  # fills the lesion even when the detector underestimated its radius
    if max_reach_mm is not None:
        reach = min(reach, max_reach_mm)
    if air.any():
        wall_ball = WALL_BALL[0] * radius_mm + WALL_BALL[1]
        region = region & (_closed_coarse(air, cr, wall_ball, iso, WALL_GRID) | air)
    mask = (smooth > thr) & region & (dist <= reach)
    lab, _ = ndimage.label(mask)
    seed = lab[tuple(cr)]
    if seed == 0:
        near = np.where(mask & (dist <= max(radius_mm * 0.6, 2 * iso)), dist, np.inf)
        if not np.isfinite(near.min()):
            return Segmentation(False, core_hu=core, lung_hu=lung_hu)
        seed = lab[np.unravel_index(int(np.argmin(near)), near.shape)]
    comp = lab == seed
    # Cut vessels: open with a ball about a third of the lesion radius, keep the part at the centre, regrow edges.
    core_part, rho_mm, attached = _open_off_vessels(comp, cr, dist, radius_mm, reach, iso)
    if core_part is not None:
        # A thin cut structure crossing a ground-glass outer layer is a vessel; so is one that ran out of a small
        # solid lesion through the first opening. Larger solid lesions keep theirs: spicules are part of a tumour
        # and readers measure them (the real LIDC-IDRI-0001 nodule loses 2 mm without them).
        cut_stubs = level < SOLID_HU or (attached and radius_mm <= SOLID_STUB_MAX_MM)
        stubs = _vessel_stubs(comp, core_part, rho_mm + iso, iso) if cut_stubs else None
        comp = comp & dilate(core_part, rho_mm + iso, iso)
        if stubs is not None:
            comp &= ~stubs
        lab2, _ = ndimage.label(comp)
        comp = lab2 == lab2[tuple(np.argwhere(core_part)[0])]
    n = int(comp.sum())
    if n < 4:
        return Segmentation(False, core_hu=core, lung_hu=lung_hu)
    vox_mm3 = iso**3
    pts = np.argwhere(comp).astype(np.float64)
    centroid = pts.mean(0)
    cov = np.cov((pts * iso).T) if n > 3 else np.eye(3)
    ev = np.clip(np.linalg.eigvalsh(cov), 1e-6, None)
    elongation = float(np.sqrt(ev[-1] / ev[0]))
    border = np.zeros_like(comp)
    border[[0, -1], :, :] = border[:, [0, -1], :] = border[:, :, [0, -1]] = True
    border_fraction = float((comp & border).sum()) / max(1.0, float(comp.sum()) ** (2 / 3))
    k_axial = largest_slice(comp)
    long_mm, short_mm = axes_2d(comp[k_axial], iso, smooth[k_axial], thr)
    # The lesion's reach for merging detections into it: the longest axial extent over its largest slices.
    areas = comp.sum(axis=(1, 2))
    reach_mm = max(axes_2d(comp[k], iso, smooth[k], thr)[0] for k in np.argsort(areas)[::-1][:3] if areas[k] > 0)
    vals = roi[comp]
    solid = comp & (smooth > SOLID_HU)
    solid_mm = 0.0
    if solid.any():
        slab, _ = ndimage.label(solid)
        sizes = ndimage.sum_labels(solid, slab, np.arange(1, slab.max() + 1))
        big = slab == int(np.argmax(sizes)) + 1
        sareas = big.sum(axis=(1, 2))
        # pixel centres plus a pixel, as the density rule's sizes were set on: the blurred core of a small part-solid
        # nodule barely reaches SOLID_HU, so its crossing of that level is no edge of the core to measure exactly
        solid_mm = max(axes_2d(big[k], iso)[0] for k in np.argsort(sareas)[::-1][:3] if sareas[k] > 0)
    solid_fraction = float(solid.sum()) / n
    hot = float(np.percentile(vals, 75))
    if hot > CALCIFIED_HU:
        density = "calcified"
    elif solid_fraction < 0.02 or solid_mm < 1.5:
        density = "ground-glass"
    elif solid_fraction >= 0.4 or (solid_mm >= 0.8 * long_mm and solid_fraction >= SOLID_MIN_FRACTION):
        density = "solid"
    else:
        density = "part-solid"
    center_native = lo + centroid / zoom
    fill_ratio = float(n) / max(1.0, (4 / 3) * np.pi * (radius_mm / iso) ** 3)
    return Segmentation(
        ok=True,
        center_index=center_native,
        volume_mm3=float(n * vox_mm3),
        long_axis_mm=long_mm,
        short_axis_mm=min(short_mm, long_mm),
        axial_slice_index=int(round(lo[0] + k_axial / zoom[0])),
        mean_hu=float(vals.mean()),
        max_hu=float(roi[comp].max()),
        core_hu=core,
        lung_hu=lung_hu,
        solid_part_mm=float(solid_mm) if density == "part-solid" else (long_mm if density == "solid" else 0.0),
        solid_fraction=solid_fraction,
        density=density,
        elongation=elongation,
        border_fraction=border_fraction,
        fill_ratio=fill_ratio,
        extent_mm=max(reach_mm, long_mm),
        attached=bool(core_part is not None and attached),
    )
