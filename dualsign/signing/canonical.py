"""Canonical JSON (RFC 8785 JCS) and SHA-256: the exact bytes that signatures and audit hashes cover."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785


def canonical_json(obj: Any) -> str:
    """RFC 8785 text of `obj`: sorted keys, no whitespace, ECMAScript number forms, minimal escapes.

    Only JSON types are accepted (dict with str keys, list, str, int, float, bool, None); anything
    else (datetimes, NaN, integers beyond ±2**53-1 ...) raises, so nothing is signed ambiguously.
    """
    return rfc8785.dumps(obj).decode("utf-8")


def sha256_hex(data: str | bytes) -> str:
    """Lower-case hex SHA-256; text is hashed as UTF-8."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()
