"""One place for configuration: environment variables over embedded defaults.

Defaults run the whole product on one machine: a SQLite file and a local file store under ./var,
and analysis in an in-process worker pool. Setting DUALSIGN_DATABASE_URL to PostgreSQL and
DUALSIGN_WORKER=celery (with DUALSIGN_BROKER_URL) is the scale-out path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"DUALSIGN_{name}", default)


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    store_dir: Path
    keys_dir: Path
    worker: str  # "inprocess" or "celery"
    worker_threads: int
    broker_url: str
    token_secret: str
    token_minutes: int
    service_key_algorithm: str  # "SM2" (default) or "Ed25519"
    catalogue_path: Path | None
    host: str
    port: int
    extra: dict[str, str] = field(default_factory=dict)
    # A running analysis renews its heartbeat every lease/4 s; one silent for a whole lease is taken
    # to be dead and is queued again (Celery workers sweep for these; see worker/service.py).
    analysis_lease_seconds: float = 120.0
    # Redis redelivers a task left unacknowledged by a dead worker after this long.
    broker_visibility_timeout: int = 3600
    # Chinese font embedded in PDF reports: "" searches the usual places, a path names one, "cid" embeds none.
    pdf_font: str = ""
    # Seals the service's private signing key at rest (see signing/service_key.py); kept out of repr.
    service_key_passphrase: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(_env("HOME", "var")).resolve()
        catalogue = _env("CATALOGUE", "")
        return cls(
            home=home,
            database_url=_env("DATABASE_URL", f"sqlite:///{home / 'dualsign.db'}"),
            store_dir=Path(_env("STORE_DIR", str(home / "store"))),
            keys_dir=Path(_env("KEYS_DIR", str(home / "keys"))),
            worker=_env("WORKER", "inprocess"),
            worker_threads=int(_env("WORKER_THREADS", "2")),
            broker_url=_env("BROKER_URL", "redis://127.0.0.1:6379/0"),
            token_secret=_env("TOKEN_SECRET", ""),
            token_minutes=int(_env("TOKEN_MINUTES", "15")),
            service_key_algorithm=_env("SERVICE_KEY_ALGORITHM", "SM2"),
            catalogue_path=Path(catalogue) if catalogue else None,
            host=_env("HOST", "127.0.0.1"),
            port=int(_env("PORT", "8000")),
            analysis_lease_seconds=float(_env("ANALYSIS_LEASE_SECONDS", "120")),
            broker_visibility_timeout=int(_env("BROKER_VISIBILITY_TIMEOUT", "3600")),
            pdf_font=_env("PDF_FONT", ""),
            service_key_passphrase=_passphrase(),
        )


def _passphrase() -> str:
    """DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE (a secrets file, e.g. a systemd credential or container secret; its
    last line break dropped) over DUALSIGN_SERVICE_KEY_PASSPHRASE; "" for none."""
    name = _env("SERVICE_KEY_PASSPHRASE_FILE", "")
    if not name:
        return _env("SERVICE_KEY_PASSPHRASE", "")
    try:
        text = Path(name).read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE={name}: cannot be read ({exc.strerror})") from None
    passphrase = text.rstrip("\r\n")
    if not passphrase:
        raise ValueError(f"DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE={name} is empty")
    return passphrase


_current: Settings | None = None


def get_settings() -> Settings:
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def use_settings(settings: Settings) -> None:
    """Replace the process-wide settings (tests, the CLI's --home option)."""
    global _current
    _current = settings
