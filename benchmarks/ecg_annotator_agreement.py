"""How precise is the QT Database reference itself, and how much of our error is the choice of lead?

    python benchmarks/ecg_annotator_agreement.py [--data /work/shared/data/ecg/qtdb] [--write-card]

1. Two annotators. On the records that carry a second cardiologist's marks (`.q2c`; five of the 55 here), each
   beat marked by both (QRS peak marks within 100 ms) gives annotator 2 - annotator 1, pooled mean and SD per
   boundary (and per record for the QRS onset), beside ours - annotator 1 and ours - annotator 2 on the same
   beats (per-beat delineator with
   withholding, as `ecg_delineation_eval.py`). The SD between two cardiologists is the floor any delineator's
   SD against one of them can be expected to reach.
2. Best lead per beat. Each lead delineated alone (`lead_ok` naming one lead); per marked beat the lead whose
   boundary lies nearer the mark is scored (the protocol of Martinez et al. 2004 for single-lead delineators on
   this database: it uses the reference to choose, so it is an optimistic bound, not a result). Beside it the
   two-lead delineator as shipped, on all 55 records, pooled over beats.
`--write-card` puts part 1 in the model card (`weights/card.json`, section "delineation_reference_agreement").
Development data: the 55 records the delineator was designed on; nothing here sets anything.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ecg_delineation_eval import CSE_SD, reference

from dualsign.analyzers.ecg.delineate import Boundaries, delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

WAVES = ("p_on", "qrs_on", "qrs_off", "t_off")


def _ours(bounds: Boundaries, det: np.ndarray, fs: float, qrs_mark: int, wave: str) -> int | None:
    """Our boundary for the detected beat nearest a marked QRS peak, or None (not detected / not found)."""
    j = int(np.argmin(np.abs(det - qrs_mark)))
    if abs(int(det[j]) - qrs_mark) > 0.1 * fs:
        return None
    value = int(getattr(bounds, wave)[j])
    return value if value >= 0 else None


def _row(label: str, e: list[float], tol: float | None = None) -> str:
    a = np.asarray(e)
    if a.size == 0:
        return f"{label:>34}     0"
    within = "" if tol is None else f"  {'inside' if a.std() <= tol else 'outside'} {tol:.1f}"
    return f"{label:>34} {a.size:>5} {a.mean():7.1f} ± {a.std():5.1f}{within}"


def two_annotators(data: Path, records: list[str], write_card: bool) -> None:
    pairs = [r for r in records if (data / f"{r}.q2c").exists()]
    a2a1: dict[str, list[float]] = {w: [] for w in WAVES}
    us_a1: dict[str, list[float]] = {w: [] for w in WAVES}
    us_a2: dict[str, list[float]] = {w: [] for w in WAVES}
    qrs_on_by_record: dict[str, list[float]] = {}
    for rec in pairs:
        ecg = read_ecg(data / rec)
        ms = 1000.0 / ecg.fs
        ref1 = reference(data / rec)
        ref2 = reference(data / rec, "q2c")
        det = detect_qrs(ecg.signal, ecg.fs)
        bounds = delineate(prepare(ecg.signal, ecg.fs), ecg.fs, det, withhold=True)
        peaks1 = np.asarray([b["qrs"] for b in ref1])
        for b2 in ref2:
            i = int(np.argmin(np.abs(peaks1 - b2["qrs"])))
            b1 = ref1[i]
            if abs(b1["qrs"] - b2["qrs"]) > 0.1 * ecg.fs:
                continue
            for w in WAVES:
                if w not in b1 or w not in b2:
                    continue
                a2a1[w].append((b2[w] - b1[w]) * ms)
                if w == "qrs_on":
                    qrs_on_by_record.setdefault(rec, []).append((b2[w] - b1[w]) * ms)
                ours = _ours(bounds, det, ecg.fs, b1["qrs"], w)
                if ours is not None:
                    us_a1[w].append((ours - b1[w]) * ms)
                    us_a2[w].append((ours - b2[w]) * ms)
    print(f"1. two annotators: {len(pairs)} records with .q2c ({', '.join(pairs)}); beats both marked, ms")
    for w in WAVES:
        print(f"{w}")
        print(_row("annotator 2 - annotator 1", a2a1[w], CSE_SD[w]))
        print(_row("ours - annotator 1 (same beats)", us_a1[w], CSE_SD[w]))
        print(_row("ours - annotator 2 (same beats)", us_a2[w], CSE_SD[w]))
    print("qrs_on, annotator 2 - annotator 1, per record")
    for rec, e in qrs_on_by_record.items():
        print(_row(rec, e))
    if write_card:
        from dualsign.analyzers.ecg.training.common import update_card

        def stats(e: list[float]) -> dict[str, float | int]:
            a = np.asarray(e)
            return {"n": int(a.size), "mean_ms": round(float(a.mean()), 1), "sd_ms": round(float(a.std()), 1)}

        update_card(
            "delineation_reference_agreement",
            {
                "records": pairs,
                "statistic": "pooled over the beats both cardiologists marked (annotator 2 marks no P waves here)",
                "annotator2_minus_annotator1": {w: stats(a2a1[w]) for w in WAVES if a2a1[w]},
                "ours_minus_annotator1": {w: stats(us_a1[w]) for w in WAVES if us_a1[w]},
                "command": "python benchmarks/ecg_annotator_agreement.py --write-card",
            },
        )


def best_lead(data: Path, records: list[str]) -> None:
    fused: dict[str, list[float]] = {w: [] for w in WAVES}
    best: dict[str, list[float]] = {w: [] for w in WAVES}
    for rec in records:
        ecg = read_ecg(data / rec)
        ms = 1000.0 / ecg.fs
        det = detect_qrs(ecg.signal, ecg.fs)
        xf = prepare(ecg.signal, ecg.fs)
        both = delineate(xf, ecg.fs, det, withhold=True)
        single = []
        for lead in range(xf.shape[1]):
            only = np.zeros(xf.shape[1], dtype=bool)
            only[lead] = True
            single.append(delineate(xf, ecg.fs, det, only, withhold=True))
        for beat in reference(data / rec):
            for w in WAVES:
                if w not in beat:
                    continue
                ours = _ours(both, det, ecg.fs, beat["qrs"], w)
                if ours is not None:
                    fused[w].append((ours - beat[w]) * ms)
                per_lead = [_ours(b, det, ecg.fs, beat["qrs"], w) for b in single]
                found = [v - beat[w] for v in per_lead if v is not None]
                if found:
                    best[w].append(min(found, key=abs) * ms)
    print(f"2. best lead per beat: {len(records)} records, pooled over marked beats, ms")
    for w in WAVES:
        print(f"{w}")
        print(_row("two-lead delineator (shipped)", fused[w], CSE_SD[w]))
        print(_row("nearer single lead (oracle)", best[w], CSE_SD[w]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/qtdb")
    ap.add_argument("--write-card", action="store_true", help="write part 1 to the model card")
    args = ap.parse_args()
    data = Path(args.data)
    records = sorted((data / "RECORDS").read_text().split())
    two_annotators(data, records, args.write_card)
    best_lead(data, records)
    return 0


if __name__ == "__main__":
    sys.exit(main())
