"""Real chest CT: the Lung-PET-CT-Dx A0001 tumour (both series) and the LIDC-IDRI-0001 nodule.

    python benchmarks/ct_real_cases.py [--data /work/shared/data]

Checks (issue 4, accuracy): the A0001 adenocarcinoma is reported as a mass whose centre lies inside the union of
the radiologists' per-slice boxes of that series; the LIDC-IDRI-0001 nodule is found and its long-axis diameter
and volume fall within the range of the four readers' contours (longest axial diameter and contour volume from
reader_marks.csv). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from dualsign.analyzers.ct_nodule import CTNoduleAnalyzer


def _inside(center: list[float], row: dict[str, str]) -> bool:
    c = np.array(center)
    mid = np.array([float(row[f"center_{a}_mm"]) for a in "xyz"])
    ext = np.array([float(row[f"extent_{a}_mm"]) for a in "xyz"])
    return bool(np.all(np.abs(c - mid) <= ext / 2 + 1e-6))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data")
    args = ap.parse_args()
    data = Path(args.data)
    analyzer = CTNoduleAnalyzer()
    out: dict[str, object] = {}
    ok = True

    ct = data / "ct"
    study = ct / "lung-pet-ct-dx/Lung_Dx-A0001/04-04-2007-NA-Chest-07990"
    folders = {"L": study / "2.000000-5mm-40805", "B": study / "3.000000-5mm-41315"}
    with (ct / "lesions.csv").open() as fh:
        boxes = {r["convolution_kernel"]: r for r in csv.DictReader(fh)}
    for kernel, folder in folders.items():
        t0 = time.perf_counter()
        raw = analyzer.analyze([folder]).raw
        dt = time.perf_counter() - t0
        masses = [f for f in raw["findings"] if f["kind"] == "mass"]
        hits = [f for f in masses if _inside(f["center_mm"], boxes[kernel])]
        found = bool(hits)
        ok &= found
        out[f"A0001-{kernel}"] = {
            "found_as_mass_inside_box": found,
            "mass": {k: hits[0][k] for k in ("center_mm", "diameter_mm", "volume_mm3", "density", "confidence")}
            if hits else None,
            "box_center_mm": [float(boxes[kernel][f"center_{a}_mm"]) for a in "xyz"],
            "box_largest_axial_side_mm": float(boxes[kernel]["max_axial_box_side_mm"]),
            "n_findings": len(raw["findings"]),
            "lung_rads": raw["lung_rads"]["category"],
            "meets_screening_standard": raw["quality"]["meets_screening_standard"],
            "seconds": round(dt, 1),
        }

    thin = data / "ct_thin"
    with (thin / "reader_marks.csv").open() as fh:
        marks = [r for r in csv.DictReader(fh) if r["patient_id"] == "LIDC-IDRI-0001"
                 and r["mark_type"] == "nodule>=3mm" and r["fully_in_staged"] == "yes"]
    centre = np.mean([[float(r[f"centroid_{a}_mm"]) for a in "xyz"] for r in marks], axis=0)
    diam = [float(r["longest_axial_diameter_mm"]) for r in marks]
    vols = [float(r["approx_volume_mm3"]) for r in marks]
    raw = analyzer.analyze([thin / "lidc-idri/LIDC-IDRI-0001"]).raw
    near = [f for f in raw["findings"] if np.linalg.norm(np.array(f["center_mm"]) - centre) <= max(diam) / 2]
    f = near[0] if near else None
    d_ok = f is not None and min(diam) <= f["diameter_mm"] <= max(diam)
    v_ok = f is not None and min(vols) <= f["volume_mm3"] <= max(vols)
    ok &= bool(d_ok and v_ok)
    out["LIDC-IDRI-0001"] = {
        "found": f is not None,
        "finding": None if f is None else {k: f[k] for k in ("kind", "center_mm", "diameter_mm", "short_axis_mm",
                                                           "volume_mm3", "density", "confidence")},
        "readers_centre_mm": [round(float(v), 1) for v in centre],
        "readers_diameter_mm": [min(diam), max(diam)],
        "readers_volume_mm3": [min(vols), max(vols)],
        "diameter_within_readers": d_ok,
        "volume_within_readers": v_ok,
        "n_findings": len(raw["findings"]),
    }
    out["all_met"] = ok
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
