"""Screening quality control with reasons a technologist can act on.

`usable` is False only when the exam cannot be read for lung lesions at all (no lungs, chest not covered).
Exams readable for large lesions but short of the screening protocol (thick slices, gaps, noise) stay usable
and carry `meets_screening_standard: False` with the reasons, which the report prints.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.lungs import LungMasks
from dualsign.analyzers.ct_nodule.read import CTVolume

MAX_THICKNESS_MM = 2.5
MAX_GAP_FACTOR = 1.5
MIN_LUNG_ML = 1500.0
MAX_NOISE_HU = 60.0
NON_CHEST_PARTS = ("HEAD", "BRAIN", "ABDOMEN", "PELVIS", "KNEE", "SPINE", "NECK", "EXTREMITY", "HAND", "FOOT")


@dataclass
class QualityReport:
    usable: bool
    meets_screening_standard: bool
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    slice_thickness_mm: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def noise_hu(vol: CTVolume, lungs: LungMasks) -> float | None:
    """Noise as the robust spread of the in-plane high-pass residual in air outside the patient."""
    from scipy import ndimage

    step = max(1, vol.shape[0] // 10)
    sub = vol.hu[::step].astype(np.float32)
    resid = sub - ndimage.uniform_filter(sub, (1, 3, 3))
    sel = (sub > -1010) & (sub < -900)
    # air outside the body, away from the field-of-view edge, but also the lung parenchyma if no outside air
    if sel.sum() < 500:
        return None
    r = resid[sel]
    return float(1.4826 * np.median(np.abs(r - np.median(r))) * 1.23)


def assess(vol: CTVolume, lungs: LungMasks) -> QualityReport:
    reasons: list[str] = []
    warnings: list[str] = []
    screening = True
    usable = True
    thick = vol.slice_thickness_mm or vol.spacing[0]
    if thick > MAX_THICKNESS_MM + 1e-6:
        screening = False
        reasons.append(
            f"slice thickness {thick:g} mm is above {MAX_THICKNESS_MM:g} mm: too thick for lung-nodule screening; "
            "small nodules can be missed and sizes are less reliable (read for large lesions only); "
            "reconstruct thin slices (<= 1.25 mm preferred)"
        )
    step = vol.spacing[0]
    if vol.max_gap_mm > MAX_GAP_FACTOR * step and vol.filled_slices > 0:
        screening = False
        reasons.append(
            f"gap of {vol.max_gap_mm:.1f} mm in the series (about {vol.filled_slices} slice(s) missing, filled by "
            "interpolation): nodules in the gap can be missed; resend the complete series"
        )
    body = vol.meta.get("body_part", "").upper()
    if body and any(p in body for p in NON_CHEST_PARTS):
        usable = False
        screening = False
        reasons.append(f"body part examined is {body}, not chest: this analyser reads chest CT only")
    total = float(lungs.volumes_ml.get("total", 0.0))
    if total < 50.0:
        usable = False
        screening = False
        reasons.append("no lungs found in the images: not a chest CT, or the chest is outside the field of view")
    else:
        z_extent = vol.shape[0] * vol.spacing[0]
        per_slice = (lungs.label > 0).reshape(lungs.label.shape[0], -1).sum(1)
        peak = float(per_slice.max())
        top, bottom = float(per_slice[0]), float(per_slice[-1])
        cut = [name for name, v in (("first", top), ("last", bottom)) if v > 0.15 * peak]
        if cut or total < MIN_LUNG_ML:
            screening = False
            where = f"lungs continue beyond the {' and '.join(cut)} slice" if cut else f"lung volume {total:.0f} mL"
            reasons.append(
                f"incomplete lung coverage ({where}; scan length {z_extent:.0f} mm): scan from lung apices to "
                "costophrenic angles"
            )
    sigma = noise_hu(vol, lungs)
    if sigma is not None and sigma > MAX_NOISE_HU:
        screening = False
        reasons.append(f"heavy image noise ({sigma:.0f} HU in air): check dose / reconstruction; small nodules can "
                       "be hidden")
    warnings.extend(vol.notes)
    return QualityReport(
        usable=usable,
        meets_screening_standard=screening,
        reasons=reasons,
        warnings=warnings,
        slice_thickness_mm=thick,
        details={"noise_hu": None if sigma is None else round(sigma, 1), "lung_volume_ml": total},
    )
