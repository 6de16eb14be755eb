"""Shared fixtures. Database tests run twice: on SQLite and on the PostgreSQL at 127.0.0.1:5432."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from dualsign.db import Database
from dualsign.models import Base

if TYPE_CHECKING:
    from dualsign.runtime import Runtime
    from dualsign.settings import Settings

PG_ADMIN_URL = os.environ.get("DUALSIGN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REPO = Path(__file__).resolve().parent.parent
TEST_DATA = REPO / "tests" / "data"


def _postgres_database() -> Iterator[str]:
    name = f"dualsign_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the suite is meant to run against both backends: say so loudly
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for the postgres tests: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """An empty database with every table created (migrations are tested on their own)."""
    db = Database(database_url)
    Base.metadata.create_all(db.engine)
    try:
        yield db
    finally:
        db.engine.dispose()


# --- the whole service on a temporary home -------------------------------------------------------

DEMO_SAMPLES = REPO / "dualsign" / "demo" / "samples"
PASSWORD = "correct-horse-battery"


def make_settings(home: Path, database_url: str, **overrides: object) -> Settings:
    from dualsign.settings import Settings

    values: dict[str, object] = dict(
        home=home, database_url=database_url, store_dir=home / "store", keys_dir=home / "keys",
        worker="inprocess", worker_threads=2, broker_url="redis://127.0.0.1:6379/15", token_secret="",
        token_minutes=15, service_key_algorithm="SM2", catalogue_path=None, host="127.0.0.1", port=0,
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    """A migrated database, file store and service key under tmp_path (migrations run for real)."""
    from dualsign import migrate
    from dualsign.runtime import build_runtime

    settings = make_settings(tmp_path / "home", database_url)
    migrate.upgrade(database_url)
    rt = build_runtime(settings)
    yield rt
    if rt.dispatcher is not None:
        rt.dispatcher.stop()
    rt.db.engine.dispose()
