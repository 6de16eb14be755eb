"""Wave boundaries on a real two-lead excerpt against the QT Database cardiologist's marks (annotator 1).

The excerpt (QTDB sel47, 51 s, 30 marked beats) is development data: the delineator's settings were chosen on
the QT Database, so this guards against regressions, it does not measure accuracy (see BENCHMARKS.md). Its T
waves are low and flat, where a threshold or area rule used to end the T wave anywhere in a 100-ms span.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.read import read_ecg

REC = Path(__file__).resolve().parents[2] / "data" / "ecg" / "qtdb_sel47_591s_51s"


def _marks() -> list[dict[str, int]]:
    """One dict per marked beat: qrs (peak) and whichever of p_on, qrs_on, qrs_off, t_off were marked."""
    ann = wfdb.rdann(str(REC), "q1c")
    beats: list[dict[str, int]] = []
    pending: int | None = None
    wave = ""
    p_on: int | None = None
    for s, sym in zip(ann.sample.tolist(), ann.symbol, strict=True):
        if sym == "(":
            pending = s
        elif sym == "p":
            p_on, wave, pending = pending, "p", None
        elif sym in "NVABQ":
            beat = {"qrs": s}
            if pending is not None:
                beat["qrs_on"] = pending
            if wave == "p" and p_on is not None:
                beat["p_on"] = p_on
            beats.append(beat)
            wave, pending, p_on = "qrs", None, None
        elif sym in "tu":
            wave, pending = sym, None
        elif sym == ")":
            if wave == "qrs":
                beats[-1]["qrs_off"] = s
            elif wave == "t" and beats:
                beats[-1]["t_off"] = s
            pending = None
    return beats


def test_boundaries_agree_with_cardiologist_marks() -> None:
    ecg = read_ecg(REC)
    r = detect_qrs(ecg.signal, ecg.fs)
    b = delineate(prepare(ecg.signal, ecg.fs), ecg.fs, r)
    marks = _marks()
    assert len(marks) == 30
    ms = 1000.0 / ecg.fs
    err: dict[str, list[float]] = {k: [] for k in ("p_on", "qrs_on", "qrs_off", "t_off")}
    for beat in marks:
        j = int(np.argmin(np.abs(r - beat["qrs"])))
        assert abs(int(r[j]) - beat["qrs"]) <= 0.1 * ecg.fs, f"marked beat at {beat['qrs']} not detected"
        for k, e in err.items():
            ours = int(getattr(b, k)[j])
            if k in beat and ours >= 0:
                e.append((ours - beat[k]) * ms)
    assert len(err["qrs_on"]) == len(err["qrs_off"]) == len(err["t_off"]) == 30
    assert len(err["p_on"]) >= 27  # every marked beat has a P wave here
    bounds = {"p_on": (10, 30), "qrs_on": (10, 15), "qrs_off": (20, 15), "t_off": (15, 25)}  # |mean|, SD (ms)
    for k, (max_mean, max_sd) in bounds.items():
        e = np.asarray(err[k])
        assert abs(e.mean()) <= max_mean and e.std() <= max_sd, (k, round(e.mean(), 1), round(e.std(), 1))
