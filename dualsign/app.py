"""The FastAPI application: mounts every domain's api.py; the worker starts with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from dualsign import __version__
from dualsign.accounts import api as accounts_api
from dualsign.audit import api as audit_api
from dualsign.billing import api as billing_api
from dualsign.exams import api as exams_api
from dualsign.exams.lifecycle import IllegalTransition
from dualsign.fhir import api as fhir_api
from dualsign.gateway import api as gateway_api
from dualsign.http import Refusal, record_refusal
from dualsign.reports import api as reports_api
from dualsign.review import api as review_api
from dualsign.runtime import Runtime
from dualsign.web import api as web_api


def create_app(rt: Runtime, *, start_worker: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.start_worker(analyse_here=start_worker)
        yield
        if rt.dispatcher is not None:
            rt.dispatcher.stop()
            rt.dispatcher = None

    app = FastAPI(title="dualsign", version=__version__, lifespan=lifespan,
                  description="AI preliminary reports, co-signed by licensed physicians.")
    app.state.runtime = rt
    for module in (accounts_api, exams_api, review_api, reports_api, billing_api, audit_api, web_api,
                   gateway_api, fhir_api):
        app.include_router(module.router)

    @app.exception_handler(Refusal)
    async def _refused(_: Request, exc: Refusal) -> JSONResponse:
        record_refusal(rt, exc)
        return JSONResponse({"detail": exc.why}, exc.status_code)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status.HTTP_409_CONFLICT)

    @app.exception_handler(StaleDataError)
    @app.exception_handler(IntegrityError)
    async def _race(_: Request, exc: Exception) -> JSONResponse:
        # Someone else changed the same exam at the same moment; our transaction was rolled back whole.
        return JSONResponse({"detail": "this exam was changed by someone else at the same moment; "
                                       "reload it and try again"}, status.HTTP_409_CONFLICT)

    @app.exception_handler(OperationalError)
    async def _busy(_: Request, exc: OperationalError) -> JSONResponse:
        return JSONResponse({"detail": "the database is busy or unavailable; nothing was saved, try again"},
                            status.HTTP_503_SERVICE_UNAVAILABLE)

    @app.get("/api/health", tags=["monitoring"])
    def health() -> dict[str, Any]:
        embedded = rt.pdf_font is not None and rt.pdf_font.embedded
        return {"status": "ok", "version": __version__, "worker": rt.settings.worker, "pdf_font_embedded": embedded}

    return app
