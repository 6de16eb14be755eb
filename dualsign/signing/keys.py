"""Signing keys and signatures: SM2 with SM3 (default) and Ed25519, plus password-sealed private keys.

Encodings (all lower-case hex):
- SM2-SM3: private key = the 32-byte big-endian scalar d (64 hex); public key = the uncompressed
  point 04||x||y (130 hex); signature = r||s, each 32 bytes big-endian (128 hex). The digest is
  SM3(Z || message) with Z computed over the default user ID "1234567812345678" (GB/T 32918.2,
  GM/T 0009), so signatures interoperate with other conforming SM2 implementations.
- Ed25519 (RFC 8032): private key = the 32-byte seed (64 hex); public key = 32 bytes (64 hex);
  signature = 64 bytes (128 hex).

Sealed private keys are a JSON object naming the format version, the KDF (argon2id) with its
parameters and salt, and the AES-256-GCM nonce and ciphertext (base64); the header is bound to the
ciphertext as associated data, so its parameters cannot be swapped without detection.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from gmssl import sm2

from dualsign.signing.canonical import canonical_json

SM2_SM3 = "SM2-SM3"
ED25519 = "Ed25519"
ALGORITHMS: tuple[str, ...] = (SM2_SM3, ED25519)
DEFAULT_ALGORITHM = SM2_SM3
# Spellings accepted on input (settings, CLI) and mapped to the stored name.
_ALIASES = {"sm2": SM2_SM3, "sm2-sm3": SM2_SM3, "sm2sm3": SM2_SM3, "ed25519": ED25519}

_HEX = re.compile(r"\A(?:[0-9a-fA-F]{2})+\Z")

_CURVE = sm2.default_ecc_table
_P = int(_CURVE["p"], 16)
_N = int(_CURVE["n"], 16)
_A = int(_CURVE["a"], 16)
_B = int(_CURVE["b"], 16)


class WrongPassword(ValueError):
    """The password does not open this sealed key (or the sealed blob was altered)."""


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    public_key: str
    private_key: str

    def __repr__(self) -> str:  # keep private keys out of logs and tracebacks
        return f"KeyPair(algorithm={self.algorithm!r}, public_key={self.public_key!r}, private_key=<hidden>)"


def normalize_algorithm(algorithm: str) -> str:
    """The stored name of an algorithm ("SM2-SM3" or "Ed25519"); "SM2" is accepted for SM2-SM3."""
    name = _ALIASES.get(algorithm.strip().lower())
    if name is None:
        known = ", ".join(ALGORITHMS)
        raise ValueError(f"unknown signature algorithm {algorithm!r}; expected one of {known}")
    return name


def _hex_bytes(value: str, length: int) -> bytes | None:
    """Strict hex of exactly `length` bytes (bytes.fromhex alone would accept spaces)."""
    if not isinstance(value, str) or len(value) != 2 * length or not _HEX.match(value):
        return None
    return bytes.fromhex(value)


# --- SM2 ---------------------------------------------------------------------------------------


def _sm2_signer(private_hex: str, public_xy: str) -> Any:
    signer = sm2.CryptSM2(private_key=private_hex, public_key="")
    # Set after construction: the constructor strips a "04" prefix with str.lstrip, which also eats
    # leading '0'/'4' digits of x and silently corrupts about one key in eight.
    signer.public_key = public_xy
    return signer


def _sm2_scalar(private_key: str) -> int:
    raw = _hex_bytes(private_key, 32)
    if raw is None:
        raise ValueError("SM2 private key must be 64 hex digits")
    d = int.from_bytes(raw, "big")
    if not 1 <= d <= _N - 2:  # GB/T 32918.1: d in [1, n-2]
        raise ValueError("SM2 private key out of range")
    return d


def _sm2_public_xy(d: int) -> str:
    xy: str = _sm2_signer("", "")._kg(d, _CURVE["g"])
    return xy.lower()


def _sm2_point(public_key: str) -> str | None:
    """x||y (128 hex) of a valid uncompressed public key on the curve, else None."""
    raw = _hex_bytes(public_key, 65)
    if raw is None or raw[0] != 4:
        return None
    x, y = int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")
    if x >= _P or y >= _P or (y * y - (x * x * x + _A * x + _B)) % _P != 0:
        return None
    return raw[1:].hex()


def _sm2_generate() -> KeyPair:
    d = secrets.randbelow(_N - 2) + 1
    return KeyPair(SM2_SM3, "04" + _sm2_public_xy(d), f"{d:064x}")


def _sm2_sign(private_key: str, message: bytes) -> str:
    d = _sm2_scalar(private_key)
    signer = _sm2_signer(f"{d:064x}", _sm2_public_xy(d))
    while True:
        # gmssl draws k with random.choice (not a CSPRNG, and not reduced mod n): supply our own.
        k = secrets.randbelow(_N - 1) + 1
        signature: str | None = signer.sign_with_sm3(message, f"{k:064x}")
        if signature is not None:  # None: the rare r == 0 / r + k == n / s == 0 cases; draw again
            return signature.lower()


def _sm2_verify(public_key: str, message: bytes, signature: str) -> bool:
    xy = _sm2_point(public_key)
    raw = _hex_bytes(signature, 64)
    if xy is None or raw is None:
        return False
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    if not (1 <= r < _N and 1 <= s < _N):
        return False
    return bool(_sm2_signer("", xy).verify_with_sm3(raw.hex(), message))


# --- Ed25519 -----------------------------------------------------------------------------------


def _ed_generate() -> KeyPair:
    from cryptography.hazmat.primitives import serialization as ser

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    public = key.public_key().public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw)
    return KeyPair(ED25519, public.hex(), private.hex())


def _ed_sign(private_key: str, message: bytes) -> str:
    raw = _hex_bytes(private_key, 32)
    if raw is None:
        raise ValueError("Ed25519 private key must be 64 hex digits")
    return Ed25519PrivateKey.from_private_bytes(raw).sign(message).hex()


def _ed_verify(public_key: str, message: bytes, signature: str) -> bool:
    key, sig = _hex_bytes(public_key, 32), _hex_bytes(signature, 64)
    if key is None or sig is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(sig, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# --- public API --------------------------------------------------------------------------------


def generate_keypair(algorithm: str = DEFAULT_ALGORITHM) -> KeyPair:
    return _sm2_generate() if normalize_algorithm(algorithm) == SM2_SM3 else _ed_generate()


def public_key_of(algorithm: str, private_key: str) -> str:
    """The public key belonging to a private key (to check a stored pair is consistent)."""
    if normalize_algorithm(algorithm) == SM2_SM3:
        return "04" + _sm2_public_xy(_sm2_scalar(private_key))
    from cryptography.hazmat.primitives import serialization as ser

    raw = _hex_bytes(private_key, 32)
    if raw is None:
        raise ValueError("Ed25519 private key must be 64 hex digits")
    public = Ed25519PrivateKey.from_private_bytes(raw).public_key()
    return public.public_bytes(ser.Encoding.Raw, ser.PublicFormat.Raw).hex()


def sign(algorithm: str, private_key: str, message: bytes) -> str:
    """Hex signature over `message`; raises ValueError on an unknown algorithm or malformed key."""
    if normalize_algorithm(algorithm) == SM2_SM3:
        return _sm2_sign(private_key, message)
    return _ed_sign(private_key, message)


def verify(algorithm: str, public_key: str, message: bytes, signature: str) -> bool:
    """True only for a valid signature; any malformed input gives False, never an exception."""
    try:
        name = normalize_algorithm(algorithm)
        if not isinstance(message, bytes | bytearray):
            return False
        if name == SM2_SM3:
            return _sm2_verify(public_key, bytes(message), signature)
        return _ed_verify(public_key, bytes(message), signature)
    except Exception:  # a verifier must answer, not crash, on hostile input
        return False


# --- sealing under a password ------------------------------------------------------------------

_SEAL_VERSION = 1
# RFC 9106's second recommended argon2id setting (64 MiB, 3 passes, 4 lanes).
_KDF_DEFAULTS = {"t": 3, "m": 64 * 1024, "p": 4}
_KDF_LIMITS = {"t": (1, 10), "m": (8 * 1024, 1024 * 1024), "p": (1, 16)}  # refuse DoS-sized headers


def _derive(password: str, salt: bytes, t: int, m: int, p: int) -> bytes:
    # NFC so the same password typed through different input methods derives the same key.
    secret = unicodedata.normalize("NFC", password).encode("utf-8")
    return hash_secret_raw(secret, salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def seal_private_key(private_key: str, password: str) -> str:
    """The private key encrypted under a key derived from `password`, as self-describing JSON text."""
    if not password:
        raise ValueError("a password is required to seal a private key")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header: dict[str, Any] = {"v": _SEAL_VERSION, "kdf": "argon2id", **_KDF_DEFAULTS, "salt": _b64(salt),
                              "aead": "AES-256-GCM", "nonce": _b64(nonce)}
    key = _derive(password, salt, _KDF_DEFAULTS["t"], _KDF_DEFAULTS["m"], _KDF_DEFAULTS["p"])
    aad = canonical_json(header).encode("utf-8")
    ciphertext = AESGCM(key).encrypt(nonce, private_key.encode("utf-8"), aad)
    return canonical_json({**header, "ct": _b64(ciphertext)})


def unseal_private_key(sealed: str, password: str) -> str:
    """The private key inside `sealed`; WrongPassword if the password (or the blob) does not match."""
    try:
        blob = json.loads(sealed)
        header = {k: blob[k] for k in ("v", "kdf", "t", "m", "p", "salt", "aead", "nonce")}
        ciphertext = base64.b64decode(blob["ct"], validate=True)
        salt = base64.b64decode(header["salt"], validate=True)
        nonce = base64.b64decode(header["nonce"], validate=True)
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a sealed private key: {exc}") from None
    if (header["v"], header["kdf"], header["aead"]) != (_SEAL_VERSION, "argon2id", "AES-256-GCM"):
        raise ValueError("unsupported sealed-key format")
    for name, (low, high) in _KDF_LIMITS.items():
        if not isinstance(header[name], int) or not low <= header[name] <= high:
            raise ValueError(f"sealed key KDF parameter {name} out of range")
    if len(nonce) != 12 or len(salt) < 16:
        raise ValueError("sealed key nonce or salt malformed")
    key = _derive(password, salt, header["t"], header["m"], header["p"])
    try:
        plain = AESGCM(key).decrypt(nonce, ciphertext, canonical_json(header).encode("utf-8"))
    except InvalidTag:
        raise WrongPassword("wrong password for this signing key") from None
    return plain.decode("utf-8")
