"""The AI service's own signing key: created once in the keys folder, reused on every later start.

One file per algorithm (`service-<algorithm>.json`, mode 0600), so switching algorithm never
overwrites the key that earlier preliminary reports were signed with.

With a passphrase configured (DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE or _PASSPHRASE) the private key is
stored sealed (argon2id + AES-256-GCM, as the physicians' keys), so a copy of the keys folder (a backup)
cannot sign. An existing unsealed key is sealed only when asked (`dualsign service-key seal`): the
passphrase then becomes necessary to sign, and losing it loses the key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from dualsign.db import utcnow
from dualsign.signing.keys import (
    ALGORITHMS,
    KeyPair,
    WrongPassword,
    generate_keypair,
    normalize_algorithm,
    public_key_of,
    seal_private_key,
    unseal_private_key,
)

log = logging.getLogger(__name__)
PASSPHRASE_HINT = "DUALSIGN_SERVICE_KEY_PASSPHRASE_FILE (or DUALSIGN_SERVICE_KEY_PASSPHRASE)"


class ServiceKeyError(RuntimeError):
    """The service key cannot be used as asked (another algorithm present, unsafe or corrupt file)."""


def service_key_path(keys_dir: Path, algorithm: str) -> Path:
    return Path(keys_dir) / f"service-{normalize_algorithm(algorithm)}.json"


def _read(path: Path, passphrase: str) -> KeyPair:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ServiceKeyError(f"{path} is accessible to other users (mode {oct(mode & 0o777)}); chmod 600 it")
    try:
        data = json.loads(path.read_text("utf-8"))
        sealed = "private_key_sealed" in data
        if sealed and not passphrase:
            raise ServiceKeyError(f"{path} is sealed: set {PASSPHRASE_HINT} to its passphrase")
        if not sealed and passphrase:
            raise ServiceKeyError(
                f"{path} is not sealed but a service key passphrase is configured: run `dualsign service-key "
                "seal` to seal it with that passphrase (keep the passphrase: without it the service cannot sign), "
                "or remove the passphrase setting"
            )
        private = unseal_private_key(data["private_key_sealed"], passphrase) if sealed else data["private_key"]
        pair = KeyPair(normalize_algorithm(data["algorithm"]), data["public_key"], private)
        consistent = public_key_of(pair.algorithm, pair.private_key) == pair.public_key
    except WrongPassword:
        raise ServiceKeyError(f"the configured service key passphrase does not open {path}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceKeyError(f"{path} is not a valid service key: {exc}") from None
    if not consistent:
        raise ServiceKeyError(f"{path}: public key does not belong to the private key")
    return pair


def _body(pair: KeyPair, passphrase: str, created_at: str) -> str:
    data: dict[str, Any] = {"algorithm": pair.algorithm, "public_key": pair.public_key}
    if passphrase:
        data["private_key_sealed"] = seal_private_key(pair.private_key, passphrase)
    else:
        data["private_key"] = pair.private_key
    data["created_at"] = created_at
    return json.dumps(data, indent=2)


def _write_temp(path: Path, body: str) -> Path:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    return tmp


def _sync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_once(path: Path, pair: KeyPair, passphrase: str) -> None:
    """Write atomically and never replace: a concurrent starter that wins keeps its key."""
    tmp = _write_temp(path, _body(pair, passphrase, utcnow().isoformat()))
    try:
        with contextlib.suppress(FileExistsError):  # lost the race: the other process's key stands
            os.link(tmp, path)  # unlike rename, link fails instead of overwriting an existing key
    finally:
        tmp.unlink(missing_ok=True)
    _sync_dir(path.parent)


def seal_service_keys(keys_dir: Path, passphrase: str) -> list[Path]:
    """Seal every unsealed service key in keys_dir with passphrase (the key itself is unchanged, so every
    signature stays valid); the files sealed. Each is checked to open with the passphrase before it replaces
    the unsealed file."""
    if not passphrase:
        raise ServiceKeyError(f"no service key passphrase: set {PASSPHRASE_HINT} first")
    sealed: list[Path] = []
    for algorithm in ALGORITHMS:
        path = service_key_path(keys_dir, algorithm)
        if not path.exists():
            continue
        try:
            stored = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            raise ServiceKeyError(f"{path} is not a valid service key: {exc}") from None
        if "private_key_sealed" in stored:
            continue
        pair = _read(path, "")
        created_at = str(stored.get("created_at") or utcnow().isoformat())
        tmp = _write_temp(path, _body(pair, passphrase, created_at))
        try:
            if _read(tmp, passphrase) != pair:
                raise ServiceKeyError(f"sealing {path} did not round-trip; the unsealed key is kept")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        _sync_dir(path.parent)
        sealed.append(path)
    return sealed


def load_or_create_service_key(
    keys_dir: Path, algorithm: str, *, passphrase: str = "", allow_other_algorithms: bool = False
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
        _write_once(path, generate_keypair(name), passphrase)
    pair = _read(path, passphrase)
    if pair.algorithm != name:
        raise ServiceKeyError(f"{path} holds a {pair.algorithm} key, not {name}")
    if not passphrase:
        log.warning("the service signing key %s is stored unencrypted: a copy of it can sign AI reports; "
                    "set %s and run `dualsign service-key seal`", path, PASSPHRASE_HINT)
    return pair
