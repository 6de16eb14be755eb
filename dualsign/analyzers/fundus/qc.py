"""Gradability: is this a colour fundus photograph at all, and is it good enough to read?

Photo-level checks run before the segmenter (colour, fundus field, focus, exposure); the field check (optic
disc and macula in view) runs after it, on the located disc and fovea. Every failed check adds a reason the
site can act on (a retake request); thresholds sit well outside the development set's own range.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from dualsign.analyzers.fundus.normalise import Canonical

GREY_CHANNEL_SPREAD = 4.0  # mean |R-G|, |G-B| inside the field, 8-bit: below it the photo is grey-scale
FIELD_FRACTION = (0.25, 0.97)  # share of the frame the fundus field covers
FIELD_ELLIPSE_IOU = 0.75  # field vs fitted ellipse: a fundus field is round (cropped flat at most)
BLUE_TO_RED_MAX = 0.65  # fundus colour: red-dominant, little blue (dev set at most 0.47)
RED_OVER_GREEN_MIN = 1.05
FOCUS_MIN = 1.0e-4  # variance of the Laplacian of green / mean green^2, on the canvas (dev set >= 2.3e-4)
ALMOST_BLACK = 40  # 99th percentile of max(R, G, B) over the whole photo, 8-bit
DARK_LEVEL, DARK_FRACTION_MAX = 12, 0.30
SATURATED_LEVEL, SATURATED_FRACTION_MAX = 250, 0.05


@dataclass
class PhotoQuality:
    is_fundus: bool
    gradable: bool
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)


def assess_photo(can: Canonical) -> PhotoQuality:
    mask = can.fundus_mask
    canvas = can.rgb.astype(np.float32)
    inside = canvas[can.field] if np.any(can.field) else canvas.reshape(-1, 3)
    metrics: dict[str, float] = {
        "field_fraction": float(np.mean(mask)),
        "field_ellipse_iou": round(can.fit_iou, 3),
    }
    spread = float(np.mean(np.abs(inside[:, 0] - inside[:, 1])) + np.mean(np.abs(inside[:, 1] - inside[:, 2]))) / 2
    metrics["channel_spread"] = round(spread, 2)
    if can.brightness_p99 < ALMOST_BLACK:
        return PhotoQuality(True, False, ["under-exposed: the photo is almost black, please retake"], metrics)
    if spread < GREY_CHANNEL_SPREAD:
        return PhotoQuality(False, False, ["grey-scale image: not a colour fundus photograph"], metrics)
    reasons: list[str] = []
    lo, hi = FIELD_FRACTION
    if not lo <= metrics["field_fraction"] <= hi or can.fit_iou < FIELD_ELLIPSE_IOU:
        reasons.append("no round fundus field inside a dark surround: not a fundus photograph")
    red, green, blue = (float(np.median(inside[:, k])) for k in range(3))
    metrics["blue_to_red"] = round(blue / max(red, 1.0), 3)
    metrics["red_over_green"] = round(red / max(green, 1.0), 3)
    if metrics["blue_to_red"] > BLUE_TO_RED_MAX or metrics["red_over_green"] < RED_OVER_GREEN_MIN:
        reasons.append("colours are not those of a retina (red-orange fundus): not a fundus photograph")
    if reasons:
        return PhotoQuality(False, False, reasons, metrics)
    green_canvas = canvas[..., 1]
    lap = ndimage.laplace(ndimage.gaussian_filter(green_canvas, 0.7))
    core = ndimage.binary_erosion(can.field, iterations=3)
    mean_g = float(np.mean(green_canvas[core])) if np.any(core) else 1.0
    metrics["focus"] = float(np.var(lap[core]) / max(mean_g, 1.0) ** 2) if np.any(core) else 0.0
    luminance = canvas[can.field].mean(axis=1)
    metrics["dark_fraction"] = round(float(np.mean(luminance < DARK_LEVEL)), 3)
    # Red clips in many good photos; green clipping means the retina itself is washed out.
    metrics["saturated_fraction"] = round(float(np.mean(inside[:, 1] >= SATURATED_LEVEL)), 3)
    if metrics["focus"] < FOCUS_MIN:
        reasons.append("out of focus or blurred: vessels and lesions are not sharp, please retake")
    if metrics["dark_fraction"] > DARK_FRACTION_MAX:
        reasons.append("under-exposed: much of the fundus is too dark, please retake")
    if metrics["saturated_fraction"] > SATURATED_FRACTION_MAX:
        reasons.append("over-exposed: much of the fundus is saturated, please retake")
    metrics["focus"] = round(metrics["focus"], 6)
    return PhotoQuality(True, not reasons, reasons, metrics)


def field_reasons(disc_found: bool, fovea_found: bool) -> list[str]:
    reasons = []
    if not disc_found:
        reasons.append("optic disc not in view: field not centred on the posterior pole, please retake")
    if not fovea_found:
        reasons.append("macula not in view: please retake centred on the macula")
    return reasons
