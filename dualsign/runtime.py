"""Process-wide handles built from settings: database, file store, service key, catalogue, worker."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

from dualsign.billing.catalogue import Catalogue, load_catalogue
from dualsign.db import Database
from dualsign.exams.store import FileStore
from dualsign.reports import pdf
from dualsign.reports.fonts import PdfFont
from dualsign.settings import Settings, get_settings
from dualsign.signing.keys import KeyPair
from dualsign.signing.service_key import load_or_create_service_key


class Dispatcher(Protocol):
    def start(self) -> None: ...
    def notify(self, exam_id: int | None = None) -> None: ...
    def stop(self) -> None: ...


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: FileStore
    service_key: KeyPair
    catalogue: Catalogue
    dispatcher: Dispatcher | None = None
    pdf_font: PdfFont | None = None  # None: the reader-supplied CID font

    def start_worker(self, analyse_here: bool = True) -> Dispatcher | None:
        """The dispatcher this installation is configured for (in-process by default).

        With Celery the API only hands exams to the broker, so it always needs the dispatcher; with the
        in-process worker, analyse_here=False (`serve --no-worker`) leaves analysis to another process
        that polls the same database, and uploads notify nobody."""
        if self.dispatcher is None:
            if self.settings.worker == "celery":
                from dualsign.worker.celery_app import CeleryDispatcher

                self.dispatcher = CeleryDispatcher(self.db)
            elif analyse_here:
                from dualsign.worker.inprocess import InProcessWorker

                self.dispatcher = InProcessWorker(self.db, self.store, self.service_key,
                                                  threads=self.settings.worker_threads,
                                                  lease_seconds=self.settings.analysis_lease_seconds)
            else:
                return None
            self.dispatcher.start()
        return self.dispatcher

    def notify(self, exam_id: int) -> None:
        if self.dispatcher is not None:
            self.dispatcher.notify(exam_id)

    @property
    def service_public_keys(self) -> set[str]:
        return {self.service_key.public_key}


def build_runtime(settings: Settings) -> Runtime:
    settings.home.mkdir(parents=True, exist_ok=True)
    return Runtime(
        settings=settings,
        db=Database(settings.database_url),
        store=FileStore(settings.store_dir),
        service_key=load_or_create_service_key(settings.keys_dir, _algorithm(settings),
                                               passphrase=settings.service_key_passphrase),
        catalogue=load_catalogue(settings.catalogue_path),
        pdf_font=pdf.resolve_font(settings.pdf_font),
    )


def _algorithm(settings: Settings) -> str:
    return {"SM2": "SM2-SM3", "SM2-SM3": "SM2-SM3", "ED25519": "Ed25519"}.get(
        settings.service_key_algorithm.upper(), settings.service_key_algorithm)


@functools.cache
def _runtime() -> Runtime:
    return build_runtime(get_settings())


def get_runtime() -> Runtime:
    return _runtime()


def get_database() -> Database:
    return get_runtime().db


def reset() -> None:
    """Forget cached handles (after settings change)."""
    rt = _runtime() if _runtime.cache_info().currsize else None
    if rt is not None and rt.dispatcher is not None:
        rt.dispatcher.stop()
    _runtime.cache_clear()
