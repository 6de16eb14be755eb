"""VT statements and urgency of the whole analyzer, dumped and compared, so a rhythm-rule change can be shown
before / after on the MIT-BIH records with signals and on CinC 2017 strips.

    python benchmarks/ecg_vt_statement_check.py dump OUT.json [--cinc2017 DIR] [--limit 1000]
    python benchmarks/ecg_vt_statement_check.py compare BEFORE.json AFTER.json

For "before", run `dump` with an exported tree of the earlier commit first on PYTHONPATH
(`git archive COMMIT | tar x -C DIR`). MIT-BIH: statements, urgency and the VT / VRUN episodes per record.
CinC 2017 (unpacked, with REFERENCE.csv; records in its order): per strip the reference class, urgency and
statement texts; `compare` counts VT statements and critical urgency by reference class and lists the strips
that changed. The shipped rhythm models trained on the CinC 2017 strips, so only the difference counts there.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from dualsign.analyzers.ecg import ECGAnalyzer

MITDB = Path("/work/shared/data/ecg/mitdb")
RECORDS = ("104", "106", "108", "116", "119", "223")
VT_TEXT = "Ventricular tachycardia"


def _summary(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "urgency": raw["urgency"],
        "usable": raw["quality"]["usable"],
        "statements": [s["text"] for s in raw["statements"]],
        "runs": [e for e in raw["rhythm"] if e["label"] in ("VT", "VRUN")],
    }


def dump(out: Path, cinc: Path | None, limit: int) -> int:
    an = ECGAnalyzer()
    res: dict[str, Any] = {"mitdb": {}, "cinc2017": {}}
    for rec in RECORDS:
        res["mitdb"][rec] = _summary(an.analyze([MITDB / rec]).raw)
    if cinc is not None:
        rows = list(csv.DictReader((cinc / "REFERENCE.csv").open()))[:limit]
        for row in rows:
            res["cinc2017"][row["record"]] = {"class": row["label"],
                                              **_summary(an.analyze([cinc / f"{row['record']}.mat"]).raw)}
    out.write_text(json.dumps(res, indent=0))
    return 0


def _counts(strips: dict[str, Any]) -> str:
    vt = Counter(v["class"] for v in strips.values() if any(s.startswith(VT_TEXT) for s in v["statements"]))
    crit = Counter(v["class"] for v in strips.values() if v["urgency"] == "critical")
    return f"VT statements {dict(sorted(vt.items()))}, critical {dict(sorted(crit.items()))}"


def compare(before_path: Path, after_path: Path) -> int:
    before, after = json.loads(before_path.read_text()), json.loads(after_path.read_text())
    for rec in RECORDS:
        a, b = before["mitdb"][rec], after["mitdb"][rec]
        print(f"MIT-BIH {rec}: urgency {a['urgency']} -> {b['urgency']}")
        for s in sorted(set(a["statements"]) - set(b["statements"])):
            print(f"  - {s}")
        for s in sorted(set(b["statements"]) - set(a["statements"])):
            print(f"  + {s}")
        runs_a = {json.dumps(e, sort_keys=True) for e in a["runs"]}
        runs_b = {json.dumps(e, sort_keys=True) for e in b["runs"]}
        for e in sorted(runs_a - runs_b):
            print(f"  - episode {e}")
        for e in sorted(runs_b - runs_a):
            print(f"  + episode {e}")
    ca, cb = before["cinc2017"], after["cinc2017"]
    if ca and cb:
        print(f"CinC 2017, {len(ca)} strips, before: {_counts(ca)}")
        print(f"CinC 2017, {len(cb)} strips, after:  {_counts(cb)}")
        for rec in sorted(set(ca) & set(cb)):
            if ca[rec] != cb[rec]:
                print(f"  {rec} ({ca[rec]['class']}): {ca[rec]['urgency']} -> {cb[rec]['urgency']}; "
                      f"- {sorted(set(ca[rec]['statements']) - set(cb[rec]['statements']))} "
                      f"+ {sorted(set(cb[rec]['statements']) - set(ca[rec]['statements']))}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--cinc2017", type=Path)
    d.add_argument("--limit", type=int, default=1000)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args()
    if args.cmd == "dump":
        return dump(args.out, args.cinc2017, args.limit)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
