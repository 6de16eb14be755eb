"""Schema migrations (Alembic), run from code so that `dualsign serve` brings any database up to date."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def revision(url: str, message: str) -> None:
    """Developers: autogenerate a new migration from the models (`dualsign db revision -m ...`)."""
    command.revision(alembic_config(url), message=message, autogenerate=True)
