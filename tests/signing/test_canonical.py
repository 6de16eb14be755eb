"""RFC 8785 canonical JSON: the examples from the RFC itself."""

from __future__ import annotations

import json

import pytest

from dualsign.signing.canonical import canonical_json, sha256_hex


def test_rfc8785_section_3_2_2_example() -> None:
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        r' "string": "\u20ac$\u000F\u000aA' "'" r'\u0042\u0022\u005c\\\"\/",'
        ' "literals": [null, true, false]}'
    )
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(json.loads(source)) == expected


def test_rfc8785_key_order_is_by_utf16_code_units() -> None:
    obj = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
           "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control",
           "\u00f6": "Latin Small Letter O With Diaeresis"}
    keys = list(json.loads(canonical_json(obj)))
    # The emoji (surrogates D83D DE00) sorts before U+FB33 although its code point is larger.
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e30, "1e+30"), (4.5, "4.5"), (1e21, "1e+21"), (1e20, "100000000000000000000"), (-0.0, "0"),
     (0.000001, "0.000001"), (1e-7, "1e-7"), (10, "10"), (9007199254740991, "9007199254740991")],
)
def test_number_forms(value: float, text: str) -> None:
    assert canonical_json([value]) == f"[{text}]"


def test_no_whitespace_and_minimal_escapes() -> None:
    assert canonical_json({"b": [1, {"d": "\u00e9\u4e2d", "c": None}], "a": "\t"}) == (
        '{"a":"\\t","b":[1,{"c":null,"d":"\u00e9\u4e2d"}]}'
    )


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 2**53, object()])
def test_values_without_a_canonical_form_are_refused(bad: object) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the library's own error types vary by case
        canonical_json({"x": bad})


def test_sha256_hex_of_text_is_of_its_utf8() -> None:
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_hex("\u4e2d") == sha256_hex("\u4e2d".encode())
