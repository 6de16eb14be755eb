"""Follow-up against the patient's prior exam: match nodules, size and volume change, volume-doubling time.

The two exams are aligned coarsely by the lung centroid (patients lie differently on the table); nodules then
match to the nearest prior nodule within the larger of 10 mm and the nodule's diameter.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np

GROWTH_MM = 1.5  # Lung-RADS: growth is an increase in mean diameter > 1.5 mm


def _date(raw: dict[str, Any]) -> date | None:
    s = str(raw.get("study_date") or "")
    try:
        return date(int(s[0:4]), int(s[4:6]), int(s[6:8])) if len(s) == 8 else None
    except ValueError:
        return None


def compare(current: dict[str, Any], prior: dict[str, Any]) -> dict[str, Any]:
    """Per current nodule: matched prior nodule and changes; plus prior nodules no longer seen."""
    cur_c = current.get("lungs", {}).get("centroid_mm")
    pri_c = prior.get("lungs", {}).get("centroid_mm")
    shift = np.array(cur_c, float) - np.array(pri_c, float) if cur_c and pri_c else np.zeros(3)
    d0, d1 = _date(prior), _date(current)
    days = (d1 - d0).days if d0 and d1 else None
    prior_nodules = [f for f in prior.get("findings", []) if f.get("kind") in ("nodule", "mass")]
    used: set[int] = set()
    rows: list[dict[str, Any]] = []
    for i, f in enumerate(current.get("findings", [])):
        if f.get("kind") not in ("nodule", "mass"):
            continue
        c = np.array(f["center_mm"], float) - shift
        best, best_d = None, math.inf
        for j, p in enumerate(prior_nodules):
            if j in used:
                continue
            dist = float(np.linalg.norm(c - np.array(p["center_mm"], float)))
            if dist < max(10.0, float(f["diameter_mm"])) and dist < best_d:
                best, best_d = j, dist
        row: dict[str, Any] = {"finding": i, "id": f.get("id")}
        if best is None:
            row.update(status="new")
        else:
            used.add(best)
            p = prior_nodules[best]
            dd = float(f["mean_diameter_mm"]) - float(p["mean_diameter_mm"])
            v0, v1 = float(p["volume_mm3"]), float(f["volume_mm3"])
            row.update(
                prior_id=p.get("id"),
                match_distance_mm=round(best_d, 1),
                prior_diameter_mm=p["diameter_mm"],
                diameter_change_mm=round(float(f["diameter_mm"]) - float(p["diameter_mm"]), 1),
                mean_diameter_change_mm=round(dd, 1),
                prior_volume_mm3=round(v0, 1),
                volume_change_pct=round(100.0 * (v1 - v0) / v0, 1) if v0 > 0 else None,
                status="growing" if dd > GROWTH_MM else ("shrinking" if dd < -GROWTH_MM else "stable"),
            )
            vdt = None
            if days and days > 0 and v0 > 0 and v1 > 0 and abs(math.log(v1 / v0)) > 1e-3:
                vdt = days * math.log(2) / math.log(v1 / v0)
            row["volume_doubling_time_days"] = None if vdt is None else round(vdt, 0)
        rows.append(row)
    gone = [p.get("id") for j, p in enumerate(prior_nodules) if j not in used]
    return {
        "prior_study_date": prior.get("study_date"),
        "interval_days": days,
        "alignment_shift_mm": [round(float(v), 1) for v in shift],
        "nodules": rows,
        "prior_nodules_not_seen": gone,
        "note": None if days else "exam dates unknown: volume-doubling time cannot be computed",
    }
