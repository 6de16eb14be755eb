"""From probability maps to things a physician can check: lesion boxes, the optic disc, the fovea, DME.

Boxes are connected components of the thresholded maps, mapped back to original-image pixels.
The fovea is the darkest spot of the heavily smoothed photo about 2.5 disc diameters temporal to the disc,
where the macula lies in a standard 45-degree photograph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from dualsign.analyzers.fundus.normalise import FIELD_RADIUS, Canonical
from dualsign.analyzers.fundus.segment import CHANNELS, LESION_TYPES

LESION_THRESHOLD = 0.5
MIN_AREA_CANVAS = {"MA": 1, "HE": 3, "EX": 2, "SE": 6}
DISC_THRESHOLD = 0.5
DISC_PEAK_MIN = 0.1  # smoothed disc-channel probability at the chosen spot
DISC_SMOOTH = 4.0  # canvas px
DISC_MIN_RELATIVE_BRIGHTNESS = 0.6
DISC_DIAMETER_RANGE = (0.08, 0.25)  # of the fundus diameter; outside it the disc channel's blob is not trusted
DISC_DIAMETER_TYPICAL = 0.17  # median of the 36 expert disc masks
FOVEA_DISC_DIAMETERS = (1.8, 3.2)  # horizontal search range from the disc centre
FOVEA_REDUCTION = 4
FOVEA_DISTANCE_PULL = 0.02
DME_DISC_DIAMETERS = 1.0  # hard exudates within one disc diameter of the fovea: suspected macular oedema
DME_RED_LESIONS = ("microaneurysm", "haemorrhage")  # diabetic evidence the exudates must come with


@dataclass(frozen=True)
class Lesion:
    type: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in original pixels
    centre: tuple[float, float]  # canvas (u, v)
    area_canvas: int
    area_px: float  # original pixels
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "box": list(self.box),
            "centre_xy": None,  # filled by the analyzer in original pixels
            "area_px": round(self.area_px, 1),
            "probability": round(self.probability, 3),
        }


@dataclass(frozen=True)
class Landmarks:
    disc_uv: tuple[float, float] | None
    disc_diameter_canvas: float | None
    fovea_uv: tuple[float, float] | None


def lesions(probs: np.ndarray, can: Canonical) -> list[Lesion]:
    out: list[Lesion] = []
    k = can.px_per_canvas
    for code, name in LESION_TYPES.items():
        p = probs[CHANNELS.index(code)]
        labels, n = ndimage.label((p >= LESION_THRESHOLD) & can.field)
        if n == 0:
            continue
        for i, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            comp = labels[sl] == i
            area = int(np.count_nonzero(comp))
            if area < MIN_AREA_CANVAS[code]:
                continue
            v0, v1, u0, u1 = sl[0].start, sl[0].stop, sl[1].start, sl[1].stop
            x0, y0 = can.to_original(u0, v0)
            x1, y1 = can.to_original(u1, v1)
            cv, cu = ndimage.center_of_mass(comp)
            out.append(
                Lesion(
                    type=name,
                    box=(int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1))),
                    centre=(float(u0 + cu), float(v0 + cv)),
                    area_canvas=area,
                    area_px=area * k * k,
                    probability=float(p[sl][comp].max()),
                )
            )
    return out


def _disc(p_disc: np.ndarray, can: Canonical) -> tuple[tuple[float, float] | None, float | None]:
    """Disc centre: the brightest smoothed spot, weighted by the disc channel; diameter from that channel.

    The disc channel learnt from the 36 photos with disc masks and is unsure on others, so brightness (the disc
    is the brightest structure of a healthy fundus) and the channel vote together.
    """
    field = can.field
    if not np.any(field):
        return None, None
    luma = ndimage.gaussian_filter(can.rgb.astype(np.float32).mean(axis=2), DISC_SMOOTH)
    luma = luma / max(float(luma[field].max()), 1.0)
    p_smooth = ndimage.gaussian_filter(p_disc.astype(np.float32), DISC_SMOOTH)
    score = np.where(field, luma * (0.5 + p_smooth), -np.inf)
    best = int(np.argmax(score))
    cv, cu = divmod(best, field.shape[1])
    if luma[cv, cu] < DISC_MIN_RELATIVE_BRIGHTNESS or p_smooth[cv, cu] < DISC_PEAK_MIN:
        return None, None
    fundus_diameter = field.shape[0] * FIELD_RADIUS
    labels, _ = ndimage.label((p_disc >= DISC_THRESHOLD) & field)
    area = float(np.count_nonzero(labels == labels[cv, cu])) if labels[cv, cu] else 0.0
    diameter = 2.0 * float(np.sqrt(area / np.pi))
    lo, hi = DISC_DIAMETER_RANGE
    if not lo * fundus_diameter <= diameter <= hi * fundus_diameter:
        diameter = DISC_DIAMETER_TYPICAL * fundus_diameter
    return (float(cu), float(cv)), diameter


def landmarks(probs: np.ndarray, can: Canonical) -> Landmarks:
    disc, dd = _disc(probs[CHANNELS.index("OD")], can)
    if disc is None or dd is None:
        return Landmarks(None, None, None)
    size = can.field.shape[0]
    centre = (size - 1) / 2
    # Temporal side = away from the disc, towards the middle of the photo.
    direction = 1.0 if disc[0] < centre else -1.0
    # The macula is a broad dark patch: a 4x-reduced green channel is plenty and keeps this fast. Darkness is
    # judged against the surroundings (vignetting darkens the rim too), with a mild pull towards 2.5 DD.
    k = FOVEA_REDUCTION
    small = can.rgb[..., 1].astype(np.float32).reshape(size // k, k, size // k, k).mean(axis=(1, 3))
    inside = can.field.reshape(size // k, k, size // k, k).all(axis=(1, 3))
    weight = inside.astype(np.float32)
    local = ndimage.gaussian_filter(small * weight, max(dd / (4.0 * k), 0.5)) / (
        ndimage.gaussian_filter(weight, max(dd / (4.0 * k), 0.5)) + 1e-3
    )
    surround = ndimage.gaussian_filter(small * weight, 1.5 * dd / k) / (
        ndimage.gaussian_filter(weight, 1.5 * dd / k) + 1e-3
    )
    v, u = (np.mgrid[0 : size // k, 0 : size // k] + 0.5) * k - 0.5
    du = (u - disc[0]) * direction / dd
    dv = (v - disc[1]) / dd
    window = (
        (du >= FOVEA_DISC_DIAMETERS[0])
        & (du <= FOVEA_DISC_DIAMETERS[1])
        & (np.abs(dv) <= 1.0)
        & ndimage.binary_erosion(inside, iterations=2)
    )
    if not np.any(window):
        return Landmarks(disc, dd, None)
    score = local / (surround + 1.0) + FOVEA_DISTANCE_PULL * ((du - 2.5) ** 2 + dv**2)
    best = int(np.argmin(np.where(window, score, np.inf)))
    return Landmarks(disc, dd, (float(u.flat[best]), float(v.flat[best])))


def dme_suspected(found: list[Lesion], marks: Landmarks) -> tuple[bool, float | None]:
    """Hard exudate within one disc diameter of the fovea, in a photo with diabetic red lesions (a microaneurysm
    or haemorrhage marked anywhere); also the nearest exudate's distance in disc diameters.

    Yellow-white dots at the macula with no red lesion at all are more often drusen or the foveal reflex than
    diabetic exudate: on the development set every exudate-only DME call was a photo without retinopathy."""
    if marks.fovea_uv is None or marks.disc_diameter_canvas is None:
        return False, None
    fu, fv = marks.fovea_uv
    dists = [
        np.hypot(les.centre[0] - fu, les.centre[1] - fv) / marks.disc_diameter_canvas
        for les in found
        if les.type == "hard_exudate"
    ]
    if not dists:
        return False, None
    nearest = float(min(dists))
    red_lesion = any(les.type in DME_RED_LESIONS for les in found)
    return nearest <= DME_DISC_DIAMETERS and red_lesion, round(nearest, 2)
