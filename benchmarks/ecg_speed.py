"""Speed: a 10-s 12-lead ECG and a 30-min two-lead record, analysed end to end on one core, vs neurokit2.

    python benchmarks/ecg_speed.py [--data /work/shared/data/ecg] [--allocator worker|default]

Times the whole analyzer (detection, QC, delineation, beat classes, rhythm, measurements, statements) on
records already read into memory, median of several runs (wall clock and CPU time, `time.process_time`);
neurokit2's `ecg_process` runs on the same signals (its first lead) in the same process and the ratios nk2 / ours
are printed. `--allocator worker` (the default) sets the allocator thresholds the service's processes set
(`dualsign.worker.allocator`); `default` leaves glibc's own, for comparison. The minor page faults per analysis and the
process's peak resident size (before neurokit2 runs on that record) are printed too.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from dualsign.analyzers.ecg import ECGAnalyzer  # noqa: E402
from dualsign.analyzers.ecg.read import read_ecg  # noqa: E402
from dualsign.worker.allocator import keep_freed_memory  # noqa: E402


def _time(fn: Callable[..., object], runs: int) -> tuple[float, float]:
    """(wall, CPU) seconds, each the median over runs."""
    ts, cs = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        ts.append(time.perf_counter() - t0)
        cs.append(time.process_time() - c0)
    return sorted(ts)[len(ts) // 2], sorted(cs)[len(cs) // 2]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/work/shared/data/ecg")
    ap.add_argument("--allocator", choices=("worker", "default"), default="worker")
    args = ap.parse_args()
    allocator = "worker thresholds" if args.allocator == "worker" and keep_freed_memory() else "glibc default"
    import neurokit2 as nk

    data = Path(args.data)
    an = ECGAnalyzer()
    cases = [
        ("10-s 12-lead (E07500, 500 Hz)", data / "cinc2021_12lead/E07500", 7, 0.1),
        ("30-min 2-lead (mitdb 106, 360 Hz)", data / "mitdb/106", 3, 1.0),
    ]
    for name, path, runs, target in cases:
        rec = read_ecg(path)
        an.analyze_record(rec)  # warm-up (imports, model load)
        faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        ours, ours_cpu = _time(lambda rec=rec: an.analyze_record(rec), runs)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        faults = (usage.ru_minflt - faults0) / runs
        peak_mb = usage.ru_maxrss / 1024  # the process so far (before neurokit2 runs on this record)
        nk_t, nk_cpu = _time(
            lambda rec=rec: nk.ecg_process(rec.signal[:, 0], sampling_rate=int(rec.fs)), max(1, runs // 2)
        )
        print(
            f"{name}: ours {1000 * ours:.0f} ms (CPU {1000 * ours_cpu:.0f} ms; target <= {1000 * target:.0f} ms: "
            f"{'met' if ours <= target else 'NOT met'}); "
            f"neurokit2 ecg_process (1 lead) {1000 * nk_t:.0f} ms (CPU {1000 * nk_cpu:.0f} ms); "
            f"ratio nk2/ours {nk_t / ours:.1f}x (CPU {nk_cpu / ours_cpu:.1f}x); "
            f"models {an.analyze_record(rec).raw['models']}; allocator: {allocator}, {faults:.0f} minor page faults "
            f"per analysis, peak RSS {peak_mb:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
