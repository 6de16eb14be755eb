"""False-positive pressure of the shipped candidate classifier on the host series alone (no simulated nodules).

    python benchmarks/ct_bare_hosts.py [--thresholds 0.5 0.99]

For each evaluation and training host: its candidates (`find_candidates`) and how many the classifier scores at or
above each threshold, and the analyzer's findings at or above it (lesions after the lesion classifier, masses
included). The hosts' real lesions are included (their candidates and findings are counted like any other). Retrain
with `train_candidates --without HOST` and run this again to compare models (BENCHMARKS.md, "Sharp-kernel training
scans").
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from dualsign.analyzers.ct_nodule import CTNoduleAnalyzer, classify  # noqa: E402
from dualsign.analyzers.ct_nodule.detect import find_candidates  # noqa: E402
from dualsign.analyzers.ct_nodule.lungs import segment_lungs  # noqa: E402
from dualsign.analyzers.ct_nodule.validation.hosts import evaluation_hosts, training_hosts  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.99])
    args = ap.parse_args()
    rows = []
    for split, hosts in (("evaluation", evaluation_hosts()), ("training", training_hosts())):
        for host in hosts:
            # the sharp look is drawn per simulated scan, not a series of its own (older trees, compared by
            # PYTHONPATH, have no such field)
            if getattr(host, "sharpen", False):
                continue
            cands = find_candidates(host.volume, segment_lungs(host.volume))
            probs = classify.score_candidates(cands)
            found = CTNoduleAnalyzer(report_probability=min(args.thresholds)).analyze_volume(host.volume).raw
            conf = [f["confidence"] for f in found["findings"]]
            rows.append({"split": split, "host": host.name, "candidates": len(cands),
                         **{f">={t:g}": int((probs >= t).sum()) for t in args.thresholds},
                         **{f"findings>={t:g}": sum(c >= t for c in conf) for t in args.thresholds}})
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"weights_sha256": classify.weights_sha256(), "classifier": classify.source(),
                      "lesion_classifier": getattr(classify, "lesion_source", lambda: "none")()}))


if __name__ == "__main__":
    main()
