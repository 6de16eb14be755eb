"""The AI service's own signing key: created once in the keys folder, reused on every later start.

One file per algorithm (`service-<algorithm>.json`, mode 0600), so switching algorithm never
overwrites the key that earlier preliminary reports were signed with.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

from dualsign.db import utcnow
from dualsign.signing.keys import ALGORITHMS, KeyPair, generate_keypair, normalize_algorithm, public_key_of


class ServiceKeyError(RuntimeError):
    """The service key cannot be used as asked (another algorithm present, unsafe or corrupt file)."""


def service_key_path(keys_dir: Path, algorithm: str) -> Path:
    return Path(keys_dir) / f"service-{normalize_algorithm(algorithm)}.json"


def _read(path: Path) -> KeyPair:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServiceKeyError(f"{path} is accessible to other users (mode {oct(mode & 0o777)}); chmod 600 it")
    try:
        data = json.loads(path.read_text("utf-8"))
        pair = KeyPair(normalize_algorithm(data["algorithm"]), data["public_key"], data["private_key"])
        consistent = public_key_of(pair.algorithm, pair.private_key) == pair.public_key
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceKeyError(f"{path} is not a valid service key: {exc}") from None
    if not consistent:
        raise ServiceKeyError(f"{path}: public key does not belong to the private key")
    return pair


def _write_once(path: Path, pair: KeyPair) -> None:
    """Write atomically and never replace: a concurrent starter that wins keeps its key."""
    body = json.dumps({"algorithm": pair.algorithm, "public_key": pair.public_key,
                       "private_key": pair.private_key, "created_at": utcnow().isoformat()}, indent=2)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # lost the race: the other process's key stands
            os.link(tmp, path)  # unlike rename, link fails instead of overwriting an existing key
    finally:
        tmp.unlink(missing_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_or_create_service_key(
    keys_dir: Path, algorithm: str, *, allow_other_algorithms: bool = False
) -> KeyPair:
    """The service key pair for `algorithm`, created on first use.

    If a key of another algorithm already exists and none of `algorithm`, this refuses (a changed
    setting would otherwise silently start a second signing identity) unless
    `allow_other_algorithms=True`, which creates the new key alongside and keeps the old one.
    """
    name = normalize_algorithm(algorithm)
    keys_dir = Path(keys_dir)
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = service_key_path(keys_dir, name)
    if not path.exists():
        others = [a for a in ALGORITHMS if a != name and service_key_path(keys_dir, a).exists()]
        if others and not allow_other_algorithms:
            raise ServiceKeyError(
                f"{keys_dir} already holds a {others[0]} service key; refusing to create a {name} one. "
                f"Set the service key algorithm back to {others[0]}, or pass allow_other_algorithms=True "
                "to create the new key alongside (existing signatures stay verifiable)."
            )
        _write_once(path, generate_keypair(name))
    pair = _read(path)
    if pair.algorithm != name:
        raise ServiceKeyError(f"{path} holds a {pair.algorithm} key, not {name}")
    return pair
