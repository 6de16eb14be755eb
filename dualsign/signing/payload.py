"""Signing a JSON payload: canonicalise (RFC 8785), hash, sign the canonical UTF-8 bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dualsign.signing.canonical import canonical_json, sha256_hex
from dualsign.signing.keys import KeyPair, normalize_algorithm, sign, verify


@dataclass(frozen=True)
class SignedPayload:
    algorithm: str
    public_key: str
    payload_json: str  # the canonical text that was signed
    payload_sha256: str
    signature: str  # hex

    def verify(self) -> bool:
        """Signature valid, text canonical, and the stored hash matches the text."""
        return sha256_hex(self.payload_json) == self.payload_sha256 and verify_payload(
            self.algorithm, self.public_key, self.payload_json, self.signature
        )


def sign_payload(keypair: KeyPair, payload: dict[str, Any]) -> SignedPayload:
    text = canonical_json(payload)
    return SignedPayload(
        algorithm=normalize_algorithm(keypair.algorithm),
        public_key=keypair.public_key,
        payload_json=text,
        payload_sha256=sha256_hex(text),
        signature=sign(keypair.algorithm, keypair.private_key, text.encode("utf-8")),
    )


def is_canonical(payload_json: str) -> bool:
    try:
        return canonical_json(json.loads(payload_json)) == payload_json
    except Exception:  # not JSON, or values RFC 8785 cannot represent
        return False


def verify_payload(algorithm: str, public_key: str, payload_json: str, signature: str) -> bool:
    """True when `signature` is valid over `payload_json` and that text is in canonical form.

    The canonical check matters: a non-canonical copy could render differently from what was signed
    while still carrying a valid signature over its own bytes.
    """
    if not isinstance(payload_json, str) or not is_canonical(payload_json):
        return False
    return verify(algorithm, public_key, payload_json.encode("utf-8"), signature)
