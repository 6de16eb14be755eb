"""Why an evaluation nodule was missed or mis-measured: its candidates, radial profile and outline, re-run.

    python benchmarks/ct_eval_nodule_detail.py RESULTS.json [--outside-mm 1.7] [--missed-below 0.95]

RESULTS.json is the `--out` file of `benchmarks/ct_simulated_nodules.py`. The scans holding the selected nodules
(>= 6 mm; found at >= 0.5 with a long-axis error beyond --outside-mm, or scoring under --missed-below) are
simulated again from their seeds, and for each selected nodule this prints the candidates within its diameter
(classifier probability, distance from the true centre, detector scale), then, for the candidates the analyzer
would outline (probability >= 0.02, coarsest scale first), `segment.radial_profile` and the outline
(`segment.segment`) from the first that gives one. The analyzer's merging of candidates into lesions is not
repeated, so a printed outline can differ from the reported one where another lesion absorbed the candidate.
A diagnostic for looking at evaluation cases: what it shows about them is not a hold-out figure.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import numpy as np

from dualsign.analyzers.ct_nodule import classify
from dualsign.analyzers.ct_nodule.detect import find_candidates
from dualsign.analyzers.ct_nodule.lungs import segment_lungs
from dualsign.analyzers.ct_nodule.read import CTVolume
from dualsign.analyzers.ct_nodule.segment import radial_profile, segment
from dualsign.analyzers.ct_nodule.validation.hosts import evaluation_hosts, lesion_avoid_list
from dualsign.analyzers.ct_nodule.validation.simulate import simulate_scan


def selected(rows: list[dict[str, Any]], outside_mm: float, missed_below: float) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r["diameter_mm"] < 6.0:
            continue
        off = "measured_diameter_mm" in r and r["confidence"] >= 0.5 and abs(
            r["measured_diameter_mm"] - r["visible_diameter_mm"]) > outside_mm
        if off or r["confidence"] < missed_below:
            out.append(r)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--outside-mm", type=float, default=1.7)
    ap.add_argument("--missed-below", type=float, default=0.95)
    args = ap.parse_args()
    with open(args.results) as fh:
        rows = selected(json.load(fh)["nodules"], args.outside_mm, args.missed_below)
    for host in evaluation_hosts():
        vol = host.volume
        per_scan = 10 if host.name.startswith("A0001") else 3
        for seed in sorted({r["seed"] for r in rows if r["host"] == host.name}):
            hu, sim = simulate_scan(vol.hu, vol.spacing, vol.index_to_lps, host.thickness_mm, per_scan, seed,
                                    avoid=lesion_avoid_list(host))
            scan = CTVolume(hu, vol.spacing, vol.origin, vol.axes, host.thickness_mm, meta=dict(vol.meta))
            lungs = segment_lungs(scan)
            cands = find_candidates(scan, lungs)
            probs = classify.score_candidates(cands)
            sp = np.array(scan.spacing)
            for r in (r for r in rows if r["host"] == host.name and r["seed"] == seed):
                truth = next(t for t in sim if np.allclose(t.center_mm, r["center_mm"]))
                c = np.array(truth.center_index, float)
                print(f"{host.name} seed {seed}: {truth.density} {truth.placement} {truth.visible_diameter_mm:.1f} mm "
                      f"(core {truth.solid_mm:.1f} mm), reported confidence {r['confidence']:.3f}, measured "
                      f"{r.get('measured_diameter_mm', float('nan')):.1f} mm {r.get('measured_density', '-')}")
                near = [(float(p), float(np.linalg.norm((k.center_index - c) * sp)), k) for k, p in zip(cands, probs,
                        strict=True) if np.linalg.norm((k.center_index - c) * sp) <= truth.diameter_mm]
                for p, d, k in sorted(near, key=lambda t: -t[0])[:6]:
                    print(f"    candidate p {p:.3f}, {d:.1f} mm from the centre, scale {k.radius_mm:.1f} mm")
                tried = sorted((t for t in near if t[0] >= 0.02), key=lambda t: (-t[2].radius_mm, -t[0]))
                for _, _, k in tried:
                    seg = segment(scan, k.center_index, k.radius_mm, lungs.closed, lungs.factor)
                    if seg.ok and seg.long_axis_mm >= 4.0:
                        prof = radial_profile(scan, k.center_index, k.radius_mm, lungs.closed, lungs.factor)
                        print(f"    outline from the {k.radius_mm:.1f} mm candidate: profile {prof}, core "
                              f"{seg.core_hu:.0f} HU, lung {seg.lung_hu:.0f} HU -> {seg.long_axis_mm:.1f} mm "
                              f"({seg.long_axis_mm - truth.visible_diameter_mm:+.1f}), {seg.density}, solid part "
                              f"{seg.solid_part_mm:.1f} mm, volume "
                              f"{seg.volume_mm3 / truth.visible_volume_mm3 - 1:+.0%}")
                        break
    return 0


if __name__ == "__main__":
    sys.exit(main())
