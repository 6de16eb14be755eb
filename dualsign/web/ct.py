"""Chest CT for display: the analysed axial series as windowed PNG slices, and its geometry for the marks.

Physician only and site-checked. Opening the volume is audited as a read of patient data; the slice
images that follow belong to that reading and are not logged one by one (a physician scrolls hundreds)."""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status
from PIL import Image

from dualsign.accounts.models import Role
from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.ct_nodule.read import CTVolume, read_ct
from dualsign.audit import service as audit
from dualsign.exams.models import Exam
from dualsign.http import Principal, RuntimeDep, require_roles
from dualsign.runtime import Runtime
from dualsign.web.exam_inputs import raw_findings, readable_inputs, viewed_exam

router = APIRouter(prefix="/api", tags=["workstation"])
Physician = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN))]

# (centre, width) in HU: the two windows a chest CT is read in.
WINDOWS = {"lung": (-600.0, 1500.0), "mediastinal": (40.0, 400.0)}
_CACHE_SIZE = 2  # volumes kept decoded (a 300-slice series is ~150 MB); scrolling must not re-read DICOM


class _VolumeCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, str], CTVolume] = OrderedDict()

    def get(self, rt: Runtime, exam: Exam) -> CTVolume:
        key = (exam.id, exam.content_sha256)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        with readable_inputs(rt, exam) as inputs:
            try:
                volume = read_ct(inputs)
            except AnalyzerError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        with self._lock:
            self._items[key] = volume
            while len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)
        return volume


volumes = _VolumeCache()


def windowed(hu: np.ndarray, window: str) -> np.ndarray:
    centre, width = WINDOWS[window]
    low = centre - width / 2
    return (np.clip((hu.astype(np.float32) - low) / width, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@router.get("/exams/{exam_id}/ct")
def ct_volume(exam_id: int, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    """Geometry of the analysed series (index <-> LPS mm) and the AI's nodules, for the viewer's marks."""
    with rt.db.session() as session:
        exam, run = viewed_exam(rt, session, principal, exam_id, "chest_ct")
        raw = raw_findings(run)
        volume = volumes.get(rt, exam)
        audit.record(session, principal.actor, "read", "ct-volume", exam.id, detail={"patient": exam.patient_id})
    nz, ny, nx = volume.shape
    return {
        "exam_id": exam_id, "slices": nz, "rows": ny, "columns": nx,
        "spacing_mm": list(volume.spacing), "origin_lps": [float(v) for v in volume.origin],
        "axes": np.asarray(volume.axes, dtype=float).tolist(),
        "slice_thickness_mm": volume.slice_thickness_mm,
        "windows": {k: {"centre": c, "width": w} for k, (c, w) in WINDOWS.items()},
        "nodules": raw.get("findings", []), "lung_rads": raw.get("lung_rads"),
        "analysis_run": run.id if run else None,
    }


@router.get("/exams/{exam_id}/ct/slices/{index}", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def ct_slice(exam_id: int, index: Annotated[int, Path(ge=0)], rt: RuntimeDep, principal: Physician,
             window: Annotated[str, Query(pattern="^(lung|mediastinal)$")] = "lung") -> Response:
    with rt.db.session() as session:
        exam, _ = viewed_exam(rt, session, principal, exam_id, "chest_ct")
        volume = volumes.get(rt, exam)
    if index >= volume.shape[0]:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"the series has {volume.shape[0]} slices; no slice {index}")
    buf = io.BytesIO()
    Image.fromarray(windowed(volume.hu[index], window)).save(buf, format="PNG", compress_level=1)
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
