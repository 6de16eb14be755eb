"""Paced beats (class Q) the whole analyzer reports, per record, on the developer data: where pacing is and is not.

    python benchmarks/ecg_paced_check.py [--data /work/shared/data/ecg] [--cinc2017 DIR] [--cinc-limit 800]

Runs `ECGAnalyzer` on MIT-BIH (104 is paced), the QT Database (sel102 and sel104 are paced), the CinC 2021 12-lead
records and the first --cinc-limit CinC 2017 strips (unpacked, see ../shared/data/ecg/DATA.md), and prints, per
set, the records with any Q beat and how many Q beats of how many. A record the QC rejects has no beats to count:
those are counted apart.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg.read import read_ecg


def _records(folder: Path, limit: int | None = None) -> list[Path]:
    recs = sorted(p.with_suffix("") for p in folder.glob("*.hea"))
    return recs[:limit] if limit else recs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/ecg"))
    ap.add_argument("--cinc2017", type=Path, default=Path("/tmp/ecgdata/cinc2017"))
    ap.add_argument("--cinc-limit", type=int, default=800)
    args = ap.parse_args()
    analyzer = ECGAnalyzer()
    sets = {
        "mitdb": _records(args.data / "mitdb"),
        "qtdb": _records(args.data / "qtdb"),
        "cinc2021_12lead": _records(args.data / "cinc2021_12lead"),
        "cinc2017": _records(args.cinc2017, args.cinc_limit) if args.cinc2017.is_dir() else [],
    }
    for name, recs in sets.items():
        with_q: dict[str, str] = {}
        rejected = 0
        for rec in recs:
            try:
                raw = analyzer.analyze_record(read_ecg(rec)).raw
            except AnalyzerError:
                rejected += 1
                continue
            if not raw["quality"]["usable"]:
                rejected += 1
                continue
            counts = raw["beat_counts"]
            if counts["Q"]:
                with_q[rec.name] = f"{counts['Q']} of {sum(counts.values())}"
        print(name, json.dumps({"records": len(recs), "rejected": rejected, "with_paced_beats": with_q}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
