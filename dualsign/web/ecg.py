"""The ECG waveform for display: what the viewer draws under the AI's beat labels.

Read-only, physician only, site-checked like every exam read, and audited as a read of patient data."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, status

from dualsign.accounts.models import Role
from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ecg.read import read_ecg
from dualsign.audit import service as audit
from dualsign.http import Principal, RuntimeDep, require_roles
from dualsign.web.exam_inputs import raw_findings, readable_inputs, viewed_exam

router = APIRouter(prefix="/api", tags=["workstation"])

Physician = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN))]

MAX_DISPLAY_HZ = 500.0  # a 25 mm/s trace needs no more; long records at 1 kHz+ are decimated
INT16 = np.iinfo(np.int16)


def _window(signal: np.ndarray, fs: float, start_s: float, seconds: float) -> tuple[np.ndarray, float, int]:
    """The samples of [start_s, start_s + seconds), decimated to at most MAX_DISPLAY_HZ."""
    first = min(int(round(start_s * fs)), max(len(signal) - 1, 0))
    part = signal[first:first + int(round(seconds * fs))]
    step = max(1, int(np.ceil(fs / MAX_DISPLAY_HZ)))
    return part[::step], fs / step, first


@router.get("/exams/{exam_id}/ecg")
def ecg_waveform(
    exam_id: int,
    rt: RuntimeDep,
    principal: Physician,
    start_s: Annotated[float, Query(ge=0)] = 0.0,
    seconds: Annotated[float, Query(gt=0, le=60)] = 10.0,
) -> dict[str, Any]:
    """Leads in µV (int16), their sampling rate, and the latest analysis's beats and rhythm in the window."""
    with rt.db.session() as session:
        exam, run = viewed_exam(rt, session, principal, exam_id, "ecg")
        raw = raw_findings(run)
        with readable_inputs(rt, exam) as inputs:
            try:
                record = read_ecg(inputs[0])
            except AnalyzerError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        duration = len(record.signal) / record.fs
        part, fs, first = _window(record.signal, record.fs, start_s, seconds)
        microvolts = np.clip(np.nan_to_num(part * 1000.0), INT16.min, INT16.max).astype(np.int16)
        # beat sample numbers count at the analysed record's rate; give the viewer seconds into the window
        beat_fs = float(raw.get("fs_hz") or record.fs)
        t0, t1 = first / record.fs, first / record.fs + len(part) / fs
        beats = [{"t_s": round(b["sample"] / beat_fs - t0, 4), "label": b.get("aami", "?")}
                 for b in raw.get("beats", []) if t0 <= b.get("sample", -1) / beat_fs < t1]
        audit.record(session, principal.actor, "read", "ecg-waveform", exam.id,
                     detail={"patient": exam.patient_id, "start_s": start_s, "seconds": seconds})
    return {
        "exam_id": exam_id, "fs_hz": fs, "source_fs_hz": record.fs, "duration_s": round(duration, 3),
        "start_s": round(first / record.fs, 4), "leads": record.lead_names, "unit": "uV",
        "samples": microvolts.T.tolist(),
        "beats": beats, "rhythm": raw.get("rhythm", []), "measurements": raw.get("measurements", {}),
        "beat_counts": raw.get("beat_counts", {}), "urgency": raw.get("urgency"),
        "analysis_run": run.id if run else None,
    }
