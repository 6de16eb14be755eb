"""Fundus photograph for display, with the AI's lesion boxes, optic disc and fovea in image pixels.

Physician only, site-checked, and audited as a read of patient data."""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Response, status
from PIL import Image

from dualsign.accounts.models import Role
from dualsign.analyzers.base import AnalyzerError
from dualsign.analyzers.fundus.read import read_fundus
from dualsign.audit import service as audit
from dualsign.http import Principal, RuntimeDep, require_roles
from dualsign.web.exam_inputs import raw_findings, readable_inputs, viewed_exam

router = APIRouter(prefix="/api", tags=["workstation"])
Physician = Annotated[Principal, Depends(require_roles(Role.PHYSICIAN))]


@router.get("/exams/{exam_id}/fundus")
def fundus_marks(exam_id: int, rt: RuntimeDep, principal: Physician) -> dict[str, Any]:
    """The AI's marks in original-image pixels (x right, y down)."""
    with rt.db.session() as session:
        exam, run = viewed_exam(rt, session, principal, exam_id, "fundus")
        raw = raw_findings(run)
        audit.record(session, principal.actor, "read", "fundus-marks", exam.id, detail={"patient": exam.patient_id})
    size = raw.get("image_size") or [None, None]
    return {
        "exam_id": exam_id, "width": size[0], "height": size[1], "laterality": raw.get("laterality"),
        "optic_disc": raw.get("optic_disc"), "fovea": raw.get("fovea"), "lesions": raw.get("lesions", []),
        "grade": raw.get("grade"), "referable": raw.get("referable"), "quality": raw.get("quality"),
        "analysis_run": run.id if run else None,
    }


@router.get("/exams/{exam_id}/fundus/image", response_class=Response,
            responses={200: {"content": {"image/png": {}}}})
def fundus_image(exam_id: int, rt: RuntimeDep, principal: Physician) -> Response:
    """The photograph itself (from JPEG, PNG, TIFF or DICOM), full resolution, as PNG."""
    with rt.db.session() as session:
        exam, _ = viewed_exam(rt, session, principal, exam_id, "fundus")
        with readable_inputs(rt, exam) as inputs:
            try:
                photo = read_fundus(inputs[0])
            except AnalyzerError as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        audit.record(session, principal.actor, "read", "fundus-image", exam.id, detail={"patient": exam.patient_id})
    buf = io.BytesIO()
    Image.fromarray(photo.rgb).save(buf, format="PNG", compress_level=1)
    return Response(buf.getvalue(), media_type="image/png", headers={"Cache-Control": "private, max-age=300"})
