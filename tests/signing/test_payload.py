"""Signed JSON payloads: canonical text, its hash, and a signature over exactly that text."""

from __future__ import annotations

import json

import pytest

from dualsign.signing.canonical import sha256_hex
from dualsign.signing.keys import ALGORITHMS, generate_keypair
from dualsign.signing.payload import SignedPayload, sign_payload, verify_payload

PAYLOAD = {"report": {"findings": [{"kind": "nodule", "size_mm": 6.5}], "impression": "肺结节"},
           "analyzer": "ct", "model_version": "1.0", "weights_sha256": "ab" * 32}


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sign_and_verify(algorithm: str) -> None:
    signed = sign_payload(generate_keypair(algorithm), PAYLOAD)
    assert signed.algorithm == algorithm
    assert json.loads(signed.payload_json) == PAYLOAD
    assert signed.payload_json.startswith('{"analyzer":"ct"')  # keys sorted, no spaces
    assert signed.payload_sha256 == sha256_hex(signed.payload_json)
    assert signed.verify()
    assert verify_payload(signed.algorithm, signed.public_key, signed.payload_json, signed.signature)

    changed = signed.payload_json.replace("6.5", "7.5")
    assert not verify_payload(signed.algorithm, signed.public_key, changed, signed.signature)


def test_non_canonical_text_is_refused_even_with_a_valid_signature() -> None:
    from dualsign.signing.keys import sign

    pair = generate_keypair("Ed25519")
    pretty = json.dumps(PAYLOAD, indent=1)
    signature = sign(pair.algorithm, pair.private_key, pretty.encode())
    assert not verify_payload(pair.algorithm, pair.public_key, pretty, signature)
    assert not verify_payload(pair.algorithm, pair.public_key, "not json", signature)


def test_stored_hash_must_match() -> None:
    signed = sign_payload(generate_keypair("Ed25519"), PAYLOAD)
    forged = SignedPayload(
        signed.algorithm, signed.public_key, signed.payload_json, "0" * 64, signed.signature
    )
    assert not forged.verify()
