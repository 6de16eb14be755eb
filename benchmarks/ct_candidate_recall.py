"""Candidate recall alone, on simulated nodules of one kind in a *training* host: the detector's first stage.

    python benchmarks/ct_candidate_recall.py [--density ground-glass] [--placement juxtapleural] [--scans 5]
                                             [--slice-mm 1.25] [--rows FILE]

Host: the Lung-PET-CT-Dx A0001 B-kernel series resampled to --slice-mm (a training host; the evaluation hosts are
never touched here), 4 simulated nodules of the given density and placement per scan (6-25 mm), seeds 5000,
5001, ... For each nodule: whether any candidate of `detect.find_candidates` lies within its radius of its centre
(the LUNA16 hit rule the evaluation uses), how many, and the classifier's best score among them. A nodule with no
candidate cannot be found by any classifier: this is the ceiling of the detection figures for that kind.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule.classify import score_candidates
from dualsign.analyzers.ct_nodule.detect import find_candidates
from dualsign.analyzers.ct_nodule.lungs import segment_lungs
from dualsign.analyzers.ct_nodule.read import CTVolume, read_ct
from dualsign.analyzers.ct_nodule.validation.hosts import SERIES_B, TUMOUR_A0001, Host, lesion_avoid_list, resample_z
from dualsign.analyzers.ct_nodule.validation.simulate import DENSITIES, PLACEMENTS, simulate_scan

SEED0 = 5000
PER_SCAN = 4


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--density", choices=DENSITIES, default="ground-glass")
    ap.add_argument("--placement", choices=PLACEMENTS, default="juxtapleural")
    ap.add_argument("--scans", type=int, default=5)
    ap.add_argument("--slice-mm", type=float, default=1.25)
    ap.add_argument("--rows", default=None, help="write each nodule's row (JSON)")
    args = ap.parse_args()
    vol = resample_z(read_ct([SERIES_B]), args.slice_mm)
    host = Host(f"A0001-B-{args.slice_mm}mm", vol, args.slice_mm, [TUMOUR_A0001])
    sp = np.array(vol.spacing)
    rows: list[dict[str, Any]] = []
    t0 = time.time()
    for k in range(args.scans):
        seed = SEED0 + k
        hu, truth = simulate_scan(vol.hu, vol.spacing, vol.index_to_lps, host.thickness_mm, PER_SCAN, seed,
                                  diameters=(6.0, 25.0), avoid=lesion_avoid_list(host),
                                  kind=(args.density, args.placement))
        scan = CTVolume(hu, vol.spacing, vol.origin, vol.axes, host.thickness_mm)
        cands = find_candidates(scan, segment_lungs(scan))
        probs = score_candidates(cands)
        for t in truth:
            hit = [float(p) for c, p in zip(cands, probs, strict=True)
                   if np.linalg.norm((c.center_index - np.array(t.center_index)) * sp) <= t.diameter_mm / 2]
            rows.append({"seed": seed, "diameter_mm": round(t.diameter_mm, 1), "hu": round(t.hu),
                         "candidates": len(hit), "best_score": round(max(hit, default=0.0), 4)})
        print(f"seed {seed}: {len(truth)} nodules, {len(cands)} candidates ({time.time() - t0:.0f} s)",
              file=sys.stderr, flush=True)
    found = [r for r in rows if r["candidates"] > 0]
    out = {
        "host": host.name, "density": args.density, "placement": args.placement, "nodules": len(rows),
        "with_candidate": len(found), "recall": round(len(found) / max(len(rows), 1), 3),
        "missed_diameters_mm": [r["diameter_mm"] for r in rows if not r["candidates"]],
        "command": (f"python benchmarks/ct_candidate_recall.py --density {args.density} --placement "
                    f"{args.placement} --scans {args.scans} --slice-mm {args.slice_mm}"),
    }
    if args.rows:
        with open(args.rows, "w") as fh:
            json.dump(rows, fh, indent=1)
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
