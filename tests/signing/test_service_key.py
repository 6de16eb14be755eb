"""The AI service key: created once with mode 0600, reused, never silently replaced."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from dualsign.signing.keys import sign, verify
from dualsign.signing.service_key import ServiceKeyError, load_or_create_service_key, service_key_path


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
