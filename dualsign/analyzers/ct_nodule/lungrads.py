"""Lung-RADS v2022 category of the exam from its nodules (baseline rules, and new / growing with a prior).

Sizes are mean diameters ((long + short axis) / 2, to one decimal) as Lung-RADS specifies. Categories needing
features the analyzer does not assess (spiculation, lymph nodes: 4X; airway nodules; atypical cysts) are left
to the reading physician, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ORDER = ("0", "1", "2", "3", "4A", "4B", "4X")
MANAGEMENT = {
    "0": "Additional lung cancer screening CT images and/or comparison to prior chest CT needed",
    "1": "Continue annual screening with LDCT in 12 months",
    "2": "Continue annual screening with LDCT in 12 months",
    "3": "LDCT in 6 months",
    "4A": "LDCT in 3 months; PET/CT may be considered if there is a solid nodule or solid component >= 8 mm",
    "4B": "Diagnostic chest CT with or without contrast; PET/CT may be considered if there is a solid nodule or "
    "solid component >= 8 mm; tissue sampling and/or referral for further clinical evaluation",
    "4X": "Diagnostic chest CT with or without contrast; PET/CT; tissue sampling and/or referral",
}
DESCRIPTOR = {
    "0": "Incomplete",
    "1": "Negative",
    "2": "Benign appearance or behaviour",
    "3": "Probably benign",
    "4A": "Suspicious",
    "4B": "Very suspicious",
    "4X": "Very suspicious",
}


@dataclass
class NoduleForRads:
    density: str  # solid / part-solid / ground-glass / calcified
    mean_diameter_mm: float
    solid_part_mm: float = 0.0
    new: bool = False
    growing: bool = False


def nodule_category(n: NoduleForRads, with_prior: bool) -> str:
    d = round(n.mean_diameter_mm, 1)
    s = round(n.solid_part_mm, 1)
    if n.density == "calcified":
        return "1"
    if n.density == "ground-glass":
        return "2" if d < 30 else "3"
    if n.density == "part-solid":
        if d < 6:
            return "2" if not n.new else "3"
        if s < 6:
            return "3" if not n.growing else "4A"
        if s < 8:
            return "4A" if not n.growing else "4B"
        return "4B"
    # solid
    if with_prior and n.new:
        if d < 4:
            return "2"
        if d < 6:
            return "3"
        if d < 8:
            return "4A"
        return "4B"
    if with_prior and n.growing:
        return "4A" if d < 8 else "4B"
    if d < 6:
        return "2"
    if d < 8:
        return "3"
    if d < 15:
        return "4A"
    return "4B"


def exam_category(nodules: list[NoduleForRads], with_prior: bool, complete: bool) -> dict[str, Any]:
    if not complete:
        cat = "0"
    elif not nodules:
        cat = "1"
    else:
        cat = max((nodule_category(n, with_prior) for n in nodules), key=ORDER.index)
    return {
        "version": "v2022",
        "category": cat,
        "descriptor": DESCRIPTOR[cat],
        "management": MANAGEMENT[cat],
        "note": "4X features (spiculation, lymphadenopathy), airway and cyst categories are not assessed by the AI",
    }
