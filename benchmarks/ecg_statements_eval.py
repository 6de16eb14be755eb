"""12-lead statements vs the SNOMED CT labels of the CinC 2021 records (per statement: TP, FP, FN).

    python benchmarks/ecg_statements_eval.py [--data /work/shared/data/ecg/cinc2021_12lead]

Only codes the analyzer can state are scored. 'Sinus rhythm' (426783006) is counted as stated when the
analyzer says sinus rhythm, sinus bradycardia or sinus tachycardia (the labels use it the same way on PTB-XL).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg.statements import SCT

SINUS = {SCT["sinus"], SCT["brady"], SCT["tachy"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/cinc2021_12lead")
    args = ap.parse_args()
    data = Path(args.data)
    an = ECGAnalyzer()
    stated_codes = set(SCT.values())
    counts: dict[str, list[int]] = {}
    for row in csv.DictReader((data / "labels.csv").open()):
        truth = set(row["dx_snomed_ct"].split(";")) & stated_codes
        raw = an.analyze([data / row["record"]]).raw
        ours = {s["code"] for s in raw["statements"] if s["code"]}
        if ours & SINUS:
            ours.add(SCT["sinus"])
        if truth & {SCT["brady"], SCT["tachy"]}:
            truth.add(SCT["sinus"])
        print(f"{row['record']}: labels {sorted(truth)} ours {sorted(ours)}")
        for c in truth | ours:
            tp_fp_fn = counts.setdefault(c, [0, 0, 0])
            tp_fp_fn[0 if c in truth and c in ours else 1 if c in ours else 2] += 1
    names = {v: k for k, v in SCT.items()}
    print(f"{'code':>10} {'statement':>12} {'TP':>3} {'FP':>3} {'FN':>3}")
    for c, (tp, fp, fn) in sorted(counts.items(), key=lambda kv: -sum(kv[1])):
        print(f"{c:>10} {names.get(c, '?'):>12} {tp:>3} {fp:>3} {fn:>3}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
