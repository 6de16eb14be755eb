"""Serves the workstation's static files at /app/ (/ redirects there) and its display-only data endpoints.

Files are served by a plain route rather than a Starlette mount so that the whole web part is one router
that app.py includes with a single line."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, status
from fastapi.responses import FileResponse, RedirectResponse

from dualsign.web import ct, ecg, fundus

STATIC = Path(__file__).resolve().parent / "static"
MEDIA_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
               ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".json": "application/json"}

router = APIRouter(tags=["workstation"])
router.include_router(ecg.router)
router.include_router(ct.router)
router.include_router(fundus.router)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/app/", status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/app", include_in_schema=False)
def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status.HTTP_307_TEMPORARY_REDIRECT)


@router.get("/app/{path:path}", include_in_schema=False)
def asset(path: str) -> FileResponse:
    """A file under static/; anything else (the app's own routes are in the #fragment) is index.html."""
    target = (STATIC / (path or "index.html")).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file():
        if "." in Path(path).name:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file")
        target = STATIC / "index.html"
    # no-cache: revalidate every load, so an upgraded server never runs against stale scripts
    return FileResponse(target, media_type=MEDIA_TYPES.get(target.suffix, "application/octet-stream"),
                        headers={"Cache-Control": "no-cache"})
