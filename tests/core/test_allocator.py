"""The worker's allocator setting: record-sized buffers freed by one analysis are reused by the next without the
kernel faulting their pages in again. Each case runs in a fresh interpreter (the setting is per process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "worker":
    from dualsign.worker.allocator import keep_freed_memory
    assert keep_freed_memory()
def analysis():  # like one ECG analysis: record-sized temporaries (10 MB each), made and freed
    a = np.ones(1_300_000); b = a * 2.0; c = np.sqrt(b); return float(c[-1])
analysis(); analysis()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    analysis()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", _PROBE, mode], capture_output=True, text=True, timeout=120, check=True)
    return int(out.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's; elsewhere the call is a no-op")
def test_freed_buffers_are_kept_for_the_next_analysis() -> None:
    default, worker = _faults("default"), _faults("worker")
    # 5 analyses x 3 arrays x 10 MB: thousands of page faults when freed memory goes back to the kernel each time
    assert default > 5_000
    assert worker < 200
