"""Outline (segmentation) accuracy alone, on simulated nodules in a *training* host: the development harness.

    python benchmarks/ct_outline_training_hosts.py [--scans 12] [--slice-mm 1.25] [--rows FILE] [--centre-offset 0.5]

Host: the Lung-PET-CT-Dx A0001 B-kernel series resampled to 1.25 mm (a training host; the evaluation hosts are
never touched here), or to another slice step with --slice-mm (2.5 mm: the thick-slice case of the evaluation's
LIDC-IDRI-0001 host, on training data), 10 simulated nodules per scan, seeds 1000, 1001, ... Each nodule >= 6 mm
is outlined by `segment.segment` from its true centre with its true radius as the detector's scale, so detection
plays no part: what is measured is the outline's long axis, volume and density type against the generator's truth
(the whole ellipsoid, as the outline changes were designed against). Prints one JSON object, overall and by
placement and density (and overall against the part in the lung); --rows writes each nodule's truth and
measurement; --centre-offset starts the outline off the true centre. The outline's settings were chosen on
these figures; the evaluation figures are `benchmarks/ct_simulated_nodules.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.lungs import segment_lungs
from dualsign.analyzers.ct_nodule.read import CTVolume, read_ct
from dualsign.analyzers.ct_nodule.segment import segment
from dualsign.analyzers.ct_nodule.validation.hosts import SERIES_B, TUMOUR_A0001, Host, lesion_avoid_list, resample_z
from dualsign.analyzers.ct_nodule.validation.simulate import simulate_scan


def errors(rows: list[dict[str, Any]], visible: bool = False) -> dict[str, Any]:
    """Against the whole ellipsoid, or (visible) against its part inside the host's lung region."""
    dk, vk = ("visible_diameter_mm", "visible_volume_mm3") if visible else ("diameter_mm", "volume_mm3")
    d = np.array([r["measured_mm"] - r[dk] for r in rows])
    v = np.array([(r["measured_mm3"] - r[vk]) / r[vk] for r in rows])
    return {
        "n": len(rows),
        "long_axis_error_mean_abs_mm": round(float(np.mean(np.abs(d))), 3),
        "long_axis_within_1_7mm": round(float(np.mean(np.abs(d) <= 1.7)), 3),
        "volume_error_mean_abs_pct": round(100 * float(np.mean(np.abs(v))), 1),
        "density_right": round(float(np.mean([r["measured_density"] == r["density"] for r in rows])), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scans", type=int, default=12)
    ap.add_argument("--slice-mm", type=float, default=1.25, help="slice step the B-kernel host is resampled to")
    ap.add_argument("--rows", help="write one JSON line per outlined nodule to this file")
    ap.add_argument("--centre-offset", type=float, default=0.0,
                    help="start each outline off the true centre by up to this fraction of the radius, in a random "
                    "direction (the detector's centre is not the truth)")
    args = ap.parse_args()
    name = f"A0001-B-{args.slice_mm:g}mm"
    host = Host(name, resample_z(read_ct([SERIES_B]), args.slice_mm), args.slice_mm, [TUMOUR_A0001])
    vol = host.volume
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    for k in range(args.scans):
        seed = 1000 + k
        hu, sim = simulate_scan(vol.hu, vol.spacing, vol.index_to_lps, host.thickness_mm, 10, seed,
                                avoid=lesion_avoid_list(host))
        scan = CTVolume(hu, vol.spacing, vol.origin, vol.axes, host.thickness_mm, meta=dict(vol.meta))
        lungs = segment_lungs(scan)
        for t in sim:
            if t.diameter_mm < 6.0:
                continue
            start = np.array(t.center_index, float)
            if args.centre_offset:
                g = np.random.default_rng(int(1000 * start.sum()) % 2**31)
                u = g.normal(size=3)
                start += u / np.linalg.norm(u) * g.uniform(0, args.centre_offset) * t.diameter_mm / 2 / np.array(
                    vol.spacing)
            seg = segment(scan, start, t.diameter_mm / 2, lungs.closed, lungs.factor)
            if seg.ok:
                rows.append({"seed": seed, "center_index": [round(float(c), 1) for c in t.center_index],
                             "placement": t.placement, "density": t.density,
                             "diameter_mm": t.diameter_mm, "volume_mm3": t.volume_mm3, "solid_mm": t.solid_mm,
                             "visible_diameter_mm": t.visible_diameter_mm, "visible_volume_mm3": t.visible_volume_mm3,
                             "measured_solid_mm": seg.solid_part_mm,
                             "measured_mm": seg.long_axis_mm, "measured_mm3": seg.volume_mm3,
                             "measured_density": seg.density})
        print(f"seed {seed}: {len(rows)} outlines ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    if args.rows:
        with open(args.rows, "w") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    out: dict[str, Any] = {"host": name, "scans": args.scans, "centre_offset": args.centre_offset,
                           "all": errors(rows), "all_visible_part": errors(rows, visible=True)}
    for key in ("placement", "density"):
        out[f"by_{key}"] = {v: errors([r for r in rows if r[key] == v]) for v in sorted({r[key] for r in rows})}
    out["command"] = (f"python benchmarks/ct_outline_training_hosts.py --scans {args.scans} --slice-mm "
                      f"{args.slice_mm:g} --centre-offset {args.centre_offset:g}")
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
