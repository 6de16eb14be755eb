"""SM2-SM3 and Ed25519 signatures, and password-sealed private keys."""

from __future__ import annotations

import base64
import secrets

import pytest

from dualsign.signing import keys
from dualsign.signing.keys import (
    ALGORITHMS,
    WrongPassword,
    generate_keypair,
    seal_private_key,
    sign,
    unseal_private_key,
    verify,
)

MESSAGE = "AI preliminary report 初报 — not valid until signed by a physician".encode()

# GB/T 32918.5-2017 (GM/T 0003.5) Annex A: the recommended curve, default user ID 1234567812345678.
VECTOR_D = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
VECTOR_PUBLIC = (
    "04" "09f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020"
    "ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13"
)
VECTOR_K = 0x59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21
VECTOR_SIGNATURE = (
    "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"
)


def _flip(hex_text: str, index: int, bit: int = 0x01) -> str:
    raw = bytearray(bytes.fromhex(hex_text))
    raw[index % len(raw)] ^= bit
    return raw.hex()


@pytest.fixture(params=ALGORITHMS, scope="module")
def pair(request: pytest.FixtureRequest) -> keys.KeyPair:
    return generate_keypair(request.param)


def test_round_trip(pair: keys.KeyPair) -> None:
    signature = sign(pair.algorithm, pair.private_key, MESSAGE)
    assert len(signature) == 128
    assert verify(pair.algorithm, pair.public_key, MESSAGE, signature)


def test_encodings(pair: keys.KeyPair) -> None:
    assert len(pair.private_key) == 64
    assert len(pair.public_key) == (130 if pair.algorithm == "SM2-SM3" else 64)
    assert keys.public_key_of(pair.algorithm, pair.private_key) == pair.public_key
    assert pair.private_key not in repr(pair)


POSITIONS = [0, 1, 31, 33, -2, -1]  # wrapped to each field's length


@pytest.mark.parametrize("index", POSITIONS)
@pytest.mark.parametrize("bit", [0x01, 0x80])
def test_any_flipped_byte_is_rejected(pair: keys.KeyPair, index: int, bit: int) -> None:
    signature = sign(pair.algorithm, pair.private_key, MESSAGE)
    message = bytearray(MESSAGE)
    message[index] ^= bit
    assert not verify(pair.algorithm, pair.public_key, bytes(message), signature)
    assert not verify(pair.algorithm, pair.public_key, MESSAGE, _flip(signature, index, bit))
    assert not verify(pair.algorithm, _flip(pair.public_key, index, bit), MESSAGE, signature)


def test_another_key_or_algorithm_is_rejected(pair: keys.KeyPair) -> None:
    signature = sign(pair.algorithm, pair.private_key, MESSAGE)
    other = generate_keypair(pair.algorithm)
    assert not verify(pair.algorithm, other.public_key, MESSAGE, signature)
    wrong = next(a for a in ALGORITHMS if a != pair.algorithm)
    assert not verify(wrong, pair.public_key, MESSAGE, signature)


@pytest.mark.parametrize(
    ("public_key", "message", "signature"),
    [("", b"m", ""), ("zz" * 65, b"m", "00" * 64), (None, b"m", "00"), ("04", None, 5),
     ("00" * 65, b"m", "11" * 64)],
)
def test_malformed_input_gives_false_not_an_error(
    public_key: object, message: object, signature: object
) -> None:
    for algorithm in (*ALGORITHMS, "RSA", None):
        assert verify(algorithm, public_key, message, signature) is False  # type: ignore[arg-type]


def test_sm2_signs_with_fresh_randomness() -> None:
    pair = generate_keypair("SM2-SM3")
    assert sign(pair.algorithm, pair.private_key, MESSAGE) != sign(pair.algorithm, pair.private_key, MESSAGE)


def test_sm2_standard_vector_verifies() -> None:
    assert keys.public_key_of("SM2-SM3", VECTOR_D) == VECTOR_PUBLIC
    assert verify("SM2-SM3", VECTOR_PUBLIC, b"message digest", VECTOR_SIGNATURE)
    assert not verify("SM2-SM3", VECTOR_PUBLIC, b"message digesT", VECTOR_SIGNATURE)


def test_sm2_standard_vector_signs_with_the_given_k(monkeypatch: pytest.MonkeyPatch) -> None:
    # sign() draws k as randbelow(n - 1) + 1 from the secrets module; pin it to the standard's k.
    monkeypatch.setattr(keys.secrets, "randbelow", lambda _n: VECTOR_K - 1)
    assert sign("SM2-SM3", VECTOR_D, b"message digest") == VECTOR_SIGNATURE


def test_sm2_key_whose_x_starts_with_zero_or_four() -> None:
    # Such keys are the ones a naive "04"-prefix strip would corrupt.
    for d in range(1, 400):
        public = keys.public_key_of("SM2-SM3", f"{d:064x}")
        if public[2] in "04":
            signature = sign("SM2-SM3", f"{d:064x}", MESSAGE)
            assert verify("SM2-SM3", public, MESSAGE, signature)
            return
    pytest.fail("no such key among the first scalars")


def test_algorithm_names() -> None:
    assert keys.normalize_algorithm("SM2") == "SM2-SM3"
    assert keys.normalize_algorithm("ed25519") == "Ed25519"
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        generate_keypair("RSA")


def test_seal_round_trip_and_wrong_password() -> None:
    pair = generate_keypair("SM2-SM3")
    sealed = seal_private_key(pair.private_key, "correct horse 电池")
    assert unseal_private_key(sealed, "correct horse 电池") == pair.private_key
    with pytest.raises(WrongPassword):
        unseal_private_key(sealed, "correct horse 电")
    # Neither the key nor any plain encoding of it appears in the sealed text.
    raw = bytes.fromhex(pair.private_key)
    for form in (pair.private_key, pair.private_key.upper(), base64.b64encode(raw).decode(),
                 base64.b64encode(pair.private_key.encode()).decode()):
        assert form not in sealed
    assert sealed != seal_private_key(pair.private_key, "correct horse 电池")  # fresh salt and nonce


def test_sealed_blob_is_self_describing_and_tamper_evident() -> None:
    import json

    sealed = seal_private_key("ab" * 32, "pw")
    blob = json.loads(sealed)
    assert blob["kdf"] == "argon2id" and blob["aead"] == "AES-256-GCM" and blob["v"] == 1
    ct = bytearray(base64.b64decode(blob["ct"]))
    ct[0] ^= 1
    with pytest.raises(WrongPassword):
        unseal_private_key(json.dumps({**blob, "ct": base64.b64encode(ct).decode()}), "pw")
    with pytest.raises(WrongPassword):  # parameters are bound to the ciphertext
        other_salt = base64.b64encode(secrets.token_bytes(16)).decode()
        unseal_private_key(json.dumps({**blob, "salt": other_salt}), "pw")
    with pytest.raises(ValueError, match="out of range"):
        unseal_private_key(json.dumps({**blob, "m": 2**30}), "pw")
    with pytest.raises(ValueError, match="not a sealed private key"):
        unseal_private_key("ab" * 32, "pw")
