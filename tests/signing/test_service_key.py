"""The AI service key: created once with mode 0600, reused, never silently replaced; sealed with a passphrase."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from dualsign.signing.keys import sign, verify
from dualsign.signing.service_key import (
    ServiceKeyError,
    load_or_create_service_key,
    seal_service_keys,
    service_key_path,
)


def test_created_once_then_reused(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    first = load_or_create_service_key(keys_dir, "SM2-SM3")
    path = service_key_path(keys_dir, "SM2-SM3")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in keys_dir.iterdir()] == [path.name]  # no temporary file left behind
    again = load_or_create_service_key(keys_dir, "SM2")  # the settings' spelling
    assert again == first
    assert verify(first.algorithm, first.public_key, b"x", sign(again.algorithm, again.private_key, b"x"))


def test_another_algorithm_is_refused_unless_asked(tmp_path: Path) -> None:
    sm2 = load_or_create_service_key(tmp_path, "SM2-SM3")
    with pytest.raises(ServiceKeyError, match="already holds a SM2-SM3 service key"):
        load_or_create_service_key(tmp_path, "Ed25519")
    ed = load_or_create_service_key(tmp_path, "Ed25519", allow_other_algorithms=True)
    assert ed.algorithm == "Ed25519"
    assert load_or_create_service_key(tmp_path, "SM2-SM3") == sm2  # the old key is kept
    assert load_or_create_service_key(tmp_path, "Ed25519") == ed


def test_unsafe_or_corrupt_key_file_is_refused(tmp_path: Path) -> None:
    load_or_create_service_key(tmp_path, "Ed25519")
    path = service_key_path(tmp_path, "Ed25519")
    path.chmod(0o644)
    with pytest.raises(ServiceKeyError, match="accessible to other users"):
        load_or_create_service_key(tmp_path, "Ed25519")
    path.chmod(0o600)
    path.write_text(path.read_text().replace('"private_key": "', '"private_key": "00'))
    with pytest.raises(ServiceKeyError, match="not a valid service key"):
        load_or_create_service_key(tmp_path, "Ed25519")
    path.write_text("{ truncated")
    with pytest.raises(ServiceKeyError, match="not a valid service key"):
        seal_service_keys(tmp_path, "pw")


def test_with_a_passphrase_the_key_is_stored_sealed(tmp_path: Path) -> None:
    pair = load_or_create_service_key(tmp_path, "SM2-SM3", passphrase="s3cret passphrase")
    path = service_key_path(tmp_path, "SM2-SM3")
    stored = json.loads(path.read_text())
    assert "private_key" not in stored and pair.private_key not in path.read_text()
    assert stored["public_key"] == pair.public_key
    assert load_or_create_service_key(tmp_path, "SM2", passphrase="s3cret passphrase") == pair
    with pytest.raises(ServiceKeyError, match="is sealed: set DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE"):
        load_or_create_service_key(tmp_path, "SM2-SM3")
    with pytest.raises(ServiceKeyError, match="passphrase does not open"):
        load_or_create_service_key(tmp_path, "SM2-SM3", passphrase="another one")


def test_unsealed_key_with_a_passphrase_configured_is_refused_until_sealed(tmp_path: Path) -> None:
    plain = load_or_create_service_key(tmp_path, "Ed25519")
    path = service_key_path(tmp_path, "Ed25519")
    created = json.loads(path.read_text())["created_at"]
    signature = sign(plain.algorithm, plain.private_key, b"report")
    with pytest.raises(ServiceKeyError, match="not sealed .* `dualsign service-key seal`"):
        load_or_create_service_key(tmp_path, "Ed25519", passphrase="pw-1")
    with pytest.raises(ServiceKeyError, match="no service key passphrase"):
        seal_service_keys(tmp_path, "")
    assert seal_service_keys(tmp_path, "pw-1") == [path]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    stored = json.loads(path.read_text())
    assert "private_key" not in stored and stored["created_at"] == created
    sealed = load_or_create_service_key(tmp_path, "Ed25519", passphrase="pw-1")
    assert sealed == plain  # the same key: what it signed before still verifies
    assert verify(sealed.algorithm, sealed.public_key, b"report", signature)
    assert seal_service_keys(tmp_path, "pw-1") == []  # nothing left to seal


def test_seal_command_seals_and_is_audited(tmp_path: Path, database_url: str) -> None:
    from dualsign import migrate
    from dualsign.audit.models import AuditEvent
    from dualsign.db import Database
    from tests.core.procs import service_env

    home = tmp_path / "home"
    migrate.upgrade(database_url)
    secret = tmp_path / "passphrase"
    secret.write_text("from a secrets file\n")
    secret.chmod(0o600)
    plain_env = service_env(home, database_url)
    cli = [sys.executable, "-m", "dualsign.cli", "service-key"]
    assert "no service key" in subprocess.run([*cli, "status"], env=plain_env, capture_output=True, text=True,
                                              check=True).stdout
    load_or_create_service_key(home / "keys", "SM2")
    sealed_env = service_env(home, database_url, service_key_passphrase_file=str(secret))
    done = subprocess.run([*cli, "seal"], env=sealed_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "sealed" in done.stdout
    status = subprocess.run([*cli, "status"], env=sealed_env, capture_output=True, text=True, check=True).stdout
    assert "SM2-SM3, sealed" in status
    # The trailing line break of the secrets file is not part of the passphrase.
    assert load_or_create_service_key(home / "keys", "SM2", passphrase="from a secrets file")
    db = Database(database_url)
    with db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.object_type == "service_key")).all()
        assert [e.action for e in events] == ["update"]
    db.engine.dispose()
