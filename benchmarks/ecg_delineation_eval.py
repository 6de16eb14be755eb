"""Wave boundaries vs the QT Database cardiologist marks (annotator 1, `.q1c`).

    python benchmarks/ecg_delineation_eval.py [--data /work/shared/data/ecg/qtdb] [--records sel100 ...]
        [--half A|B] [--median-beat] [--per-record t_off] [--no-withhold] [--analyzer] [--write-card]

Beats: each marked beat is matched to the nearest beat of our detector (`detect_qrs` on both leads) when
that is within 100 ms of the marked QRS peak; unmatched marks count as missed. Leads: the delineator sees
both leads at once, as the `.q1c` annotator saw the two-lead display (QRS from the two-lead activity curve;
P and T boundaries per lead, then the median over the leads where the wave is clear). Error = ours -
reference (ms), for P onset, P offset, QRS onset, QRS offset and T end.

Printed: mean and SD pooled over all matched beats (the strict figure, compared with the CSE tolerances
for the SD: P on 10.2, QRS on 6.5, QRS off 11.6, T end 30.6 ms), and the per-record SD averaged over
records (the convention of several published delineators; more lenient, shown for comparison only).
`--median-beat` also delineates each record's median beat (as the statements do) and compares it with the
median of the marks relative to the QRS peak, one value per record. `--per-record WAVE` lists each record's
mean and SD for that wave and its share of the pooled variance (sum of its squared deviations from the pooled
mean over the pooled total), largest first: where the pooled SD comes from.

Withheld boundaries: the delineator leaves a beat's T end or P onset out where the leads that show the wave
disagree on it (`delineate(..., withhold=True)`, the analyzer's per-beat output). Such a marked boundary is not
scored and is counted in `withheld`, beside `missed` (marked beats not detected, or the wave not found even
without withholding). `--no-withhold` scores every boundary the delineator finds.

`--analyzer` scores what the analyzer reports instead: `beats[]` (sample, p_on, qrs_on, qrs_off, t_off) of
`ECGAnalyzer().analyze_record` on each record, i.e. after its median removal and QC lead selection (in sel42 the
clipped lead 0 is left out); `withheld` then counts the boundaries that the same path finds without withholding.
`--analyzer --write-card` puts those pooled figures in the model card (`weights/card.json`, section "delineation").

All 55 records are development data: nothing is held out. The delineator's numeric settings (QRS activity
fractions, smoothing and hold times, onset correction; trapezium far points; T-peak and T-end search limits;
P-window margins) were chosen among a handful of settings each on the even-indexed half of the sorted record
list (`--half A`) and read on the odd half (`--half B`); report A, B and all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import wfdb

from dualsign.analyzers.ecg import qc
from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.measure import median_beat
from dualsign.analyzers.ecg.read import ECGRecord, read_ecg

CSE_SD = {"p_on": 10.2, "p_off": 12.7, "qrs_on": 6.5, "qrs_off": 11.6, "t_off": 30.6}
BEATS = set("NLRBAaJSVrFejnE/fQ?")


def reference(path: Path, annotator: str = "q1c") -> list[dict[str, int]]:
    ann = wfdb.rdann(str(path), annotator)
    beats: list[dict[str, int]] = []
    pending: int | None = None
    wave: str | None = None
    cur: dict[str, int] = {}
    for s, sym in zip(ann.sample, ann.symbol, strict=True):
        s = int(s)
        if sym == "(":
            pending = s
        elif sym == "p":
            cur = {"p_peak": s}
            if pending is not None:
                cur["p_on"] = pending
            wave, pending = "p", None
        elif sym in BEATS:
            if wave != "p" or "qrs" in cur:
                cur = {}
            cur["qrs"] = s
            if pending is not None:
                cur["qrs_on"] = pending
            beats.append(cur)
            wave, pending = "qrs", None
        elif sym == "t":
            wave, pending = "t", None
        elif sym == "u":
            wave, pending = "u", None
        elif sym == ")":
            if wave == "p":
                cur["p_off"] = s
            elif wave == "qrs":
                cur["qrs_off"] = s
            elif wave == "t":
                cur["t_off"] = s
            pending = None
    return beats


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg/qtdb")
    ap.add_argument("--records", nargs="*")
    ap.add_argument("--half", choices=["A", "B"], help="A: even-indexed sorted records (tuning), B: odd")
    ap.add_argument("--median-beat", action="store_true", help="also score the median-beat delineation")
    ap.add_argument("--per-record", choices=sorted(CSE_SD), help="per-record breakdown of this wave's errors")
    ap.add_argument("--no-withhold", action="store_true", help="score the boundaries the delineator withholds")
    ap.add_argument("--analyzer", action="store_true", help="score the analyzer's per-beat output (findings)")
    ap.add_argument("--write-card", action="store_true", help="write the pooled figures to the model card")
    args = ap.parse_args()
    if args.write_card and (args.records or args.half or args.no_withhold or not args.analyzer):
        raise SystemExit("--write-card takes the analyzer's output on all records: use --analyzer alone")
    data = Path(args.data)
    all_records = sorted((data / "RECORDS").read_text().split())
    records = args.records or all_records
    if args.half:
        records = records[0::2] if args.half == "A" else records[1::2]
    errs: dict[str, list[float]] = {k: [] for k in CSE_SD}
    rec_sd: dict[str, list[float]] = {k: [] for k in CSE_SD}
    med_errs: dict[str, list[float]] = {k: [] for k in CSE_SD}
    missed: dict[str, int] = {k: 0 for k in CSE_SD}
    withheld: dict[str, int] = {k: 0 for k in CSE_SD}
    by_rec: dict[str, np.ndarray] = {}
    for rec in records:
        ecg = read_ecg(data / rec)
        ref = reference(data / rec)
        if args.analyzer:
            det, xf, b, b_all = _analyzer_beats(ecg)
        else:
            det = detect_qrs(ecg.signal, ecg.fs)
            xf = prepare(ecg.signal, ecg.fs)
            b = delineate(xf, ecg.fs, det, withhold=not args.no_withhold)
            b_all = delineate(xf, ecg.fs, det, withhold=False)
        ms = 1000.0 / ecg.fs
        if args.median_beat:
            _median_beat_errors(xf, ecg.fs, det, ref, med_errs)
        n_before = {k: len(v) for k, v in errs.items()}
        for beat in ref:
            j = int(np.argmin(np.abs(det - beat["qrs"])))
            if abs(int(det[j]) - beat["qrs"]) > 0.1 * ecg.fs:
                for k in CSE_SD:
                    missed[k] += k in beat
                continue
            for k in CSE_SD:
                if k not in beat:
                    continue
                ours = int(getattr(b, k)[j])
                if ours < 0:
                    if int(getattr(b_all, k)[j]) >= 0:
                        withheld[k] += 1
                    else:
                        missed[k] += 1
                    continue
                errs[k].append((ours - beat[k]) * ms)
        for k in CSE_SD:
            if len(errs[k]) - n_before[k] >= 2:
                rec_sd[k].append(float(np.std(errs[k][n_before[k] :])))
        if args.per_record:
            by_rec[rec] = np.asarray(errs[args.per_record][n_before[args.per_record] :])
    print(f"{len(records)} records; pooled over beats, and SD per record averaged over records")
    print(
        f"{'wave':>8} {'n':>5} {'missed':>6} {'withheld':>8} {'mean ms':>8} {'SD ms':>7} {'CSE SD':>7}  within  "
        f"{'rec-avg SD':>10}"
    )
    for k, tol in CSE_SD.items():
        e = np.asarray(errs[k])
        if e.size == 0:
            continue
        print(
            f"{k:>8} {e.size:>5} {missed[k]:>6} {withheld[k]:>8} {e.mean():8.1f} {e.std():7.1f} {tol:7.1f}  "
            f"{'yes' if e.std() <= tol else 'no ':>6}  {np.mean(rec_sd[k]):10.1f}"
        )
    if args.per_record:
        _print_per_record(args.per_record, by_rec, all_records)
    if args.write_card:
        _write_card(errs, rec_sd, missed, withheld, len(records))
    if args.median_beat:
        print("median beat (one value per record: ours on the median beat - median of the marks)")
        for k in CSE_SD:
            e = np.asarray(med_errs[k])
            if e.size:
                print(f"{k:>8} {e.size:>5} records {e.mean():8.1f} {e.std():7.1f}")
    return 0


def _write_card(
    errs: dict[str, list[float]],
    rec_sd: dict[str, list[float]],
    missed: dict[str, int],
    withheld: dict[str, int],
    n_records: int,
) -> None:
    """The analyzer's boundaries against the annotator, per wave, into weights/card.json ("delineation")."""
    from dualsign.analyzers.ecg.training.common import update_card

    waves = {}
    for k, tol in CSE_SD.items():
        e = np.asarray(errs[k])
        waves[k] = {
            "n": int(e.size),
            "missed": missed[k],
            "withheld": withheld[k],
            "mean_ms": round(float(e.mean()), 1),
            "sd_ms": round(float(e.std()), 1),
            "record_averaged_sd_ms": round(float(np.mean(rec_sd[k])), 1),
            "cse_sd_tolerance_ms": tol,
            "inside_tolerance": bool(e.std() <= tol),
        }
    update_card(
        "delineation",
        {
            "reference": f"QT Database, annotator 1 (.q1c), {n_records} records, every marked beat",
            "split": "development figures: the rules' settings were chosen on half of these records",
            "statistic": "ours - cardiologist, pooled over beats (record_averaged_sd_ms: the per-record SD, averaged)",
            "waves": waves,
            "command": "python benchmarks/ecg_delineation_eval.py --analyzer --write-card",
        },
    )


def _analyzer_beats(ecg: ECGRecord) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """R peaks, prepared signal, the analyzer's per-beat boundaries (findings `beats[]`, None as -1), and the
    same path's boundaries without withholding."""
    from dualsign.analyzers.ecg import ECGAnalyzer

    beats = ECGAnalyzer().analyze_record(ecg).raw["beats"]
    det = np.asarray([bt["sample"] for bt in beats], dtype=np.int64)
    cols = {k: np.asarray([-1 if bt[k] is None else bt[k] for bt in beats], dtype=np.int64) for k in CSE_SD}
    x = ecg.signal - median0(ecg.signal)
    xf = prepare(x, ecg.fs)
    r = detect_qrs(x, ecg.fs)
    quality, _ = qc.assess(x, xf, ecg.fs, ecg.lead_names, r)
    b_all = delineate(xf, ecg.fs, r, quality.lead_ok, withhold=False)
    if not np.array_equal(r, det):
        raise SystemExit("analyzer beats differ from the detector's: withheld counts would not line up")
    return det, xf, SimpleNamespace(**cols), b_all


def _print_per_record(wave: str, by_rec: dict[str, np.ndarray], all_records: list[str]) -> None:
    """Each record's mean and SD and its share of the pooled variance of one wave's errors, largest first."""
    pooled = np.concatenate([e for e in by_rec.values() if e.size] or [np.zeros(0)])
    if pooled.size == 0:
        return
    total = float(np.sum((pooled - pooled.mean()) ** 2)) or 1.0
    half = {rec: "A" if i % 2 == 0 else "B" for i, rec in enumerate(all_records)}
    rows = [(100.0 * float(np.sum((e - pooled.mean()) ** 2)) / total, rec, e) for rec, e in by_rec.items() if e.size]
    print(f"{wave} per record (half of the sorted list; share of the pooled variance)")
    for share, rec, e in sorted(rows, key=lambda t: -t[0]):
        print(f"{rec:>9} {half.get(rec, '?'):>2} {e.size:>4} {e.mean():8.1f} {e.std():7.1f} {share:6.1f} %")


def _median_beat_errors(
    xf: np.ndarray, fs: float, det: np.ndarray, ref: list[dict[str, int]], out: dict[str, list[float]]
) -> None:
    """Median beat of the detected beats, delineated as in the analyzer, vs the median marked offsets."""
    mb = median_beat(xf, fs, det, np.ones(det.size, bool), np.ones(xf.shape[1], bool))
    if mb is None:
        return
    ms = 1000.0 / fs
    for k in CSE_SD:
        rel = [bt[k] - bt["qrs"] for bt in ref if k in bt]
        ours = int(getattr(mb.bounds, k)[0])
        if len(rel) >= 3 and ours >= 0:
            # The median beat is aligned on our R peak; correct for its median offset from the marked peak.
            shift = np.median([det[np.argmin(np.abs(det - bt["qrs"]))] - bt["qrs"] for bt in ref])
            out[k].append(((ours - mb.r_index) + shift - float(np.median(rel))) * ms)


if __name__ == "__main__":
    sys.exit(main())
