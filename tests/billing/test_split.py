from __future__ import annotations

from decimal import Decimal

import pytest

from dualsign.billing.catalogue import split_amount


@pytest.mark.parametrize(
    ("amount", "ratio", "expected"),
    [
        (2500, "0.10", (250, 2250)),
        (1000, "0.05", (50, 950)),
        (1005, "0.10", (101, 904)),  # 100.5 rounds half up
        (1004, "0.10", (100, 904)),  # 100.4 rounds down
        (333, "0.15", (50, 283)),  # 49.95 -> 50
        (1, "0.5", (1, 0)),  # a single half fen goes to the patient
        (999, "0.125", (125, 874)),  # 124.875 -> 125
        (2500, "0", (0, 2500)),
        (2500, "1", (2500, 0)),
        (0, "0.10", (0, 0)),
    ],
)
def test_examples(amount: int, ratio: str, expected: tuple[int, int]) -> None:
    assert split_amount(amount, Decimal(ratio)) == expected


def test_parts_always_sum_to_the_amount() -> None:
    ratios = [Decimal(r) for r in ("0", "0.05", "0.1", "0.10", "0.125", "0.15", "0.2", "0.333", "0.5",
                                   "0.6667", "0.99", "1")]
    for ratio in ratios:
        for amount in range(0, 5001, 7):
            self_pay, fund = split_amount(amount, ratio)
            assert self_pay + fund == amount
            assert 0 <= self_pay <= amount and 0 <= fund <= amount
            # Within half a fen of the exact share, and halves go up.
            exact = Decimal(amount) * ratio
            assert abs(Decimal(self_pay) - exact) <= Decimal("0.5")
            if exact - int(exact) == Decimal("0.5"):
                assert self_pay == int(exact) + 1


def test_negative_amounts_mirror_positive_ones() -> None:
    for amount in (1, 5, 1005, 2499):
        self_pay, fund = split_amount(amount, Decimal("0.1"))
        assert split_amount(-amount, Decimal("0.1")) == (-self_pay, -fund)


@pytest.mark.parametrize("ratio", [0.1, "0.1", 1])
def test_ratio_must_be_decimal(ratio: object) -> None:
    with pytest.raises(TypeError):
        split_amount(100, ratio)  # type: ignore[arg-type]


@pytest.mark.parametrize("amount", [100.0, True, "100"])
def test_amount_must_be_integer_fen(amount: object) -> None:
    with pytest.raises(TypeError):
        split_amount(amount, Decimal("0.1"))  # type: ignore[arg-type]


@pytest.mark.parametrize("ratio", ["-0.01", "1.01", "NaN", "Infinity"])
def test_ratio_out_of_range(ratio: str) -> None:
    with pytest.raises(ValueError):
        split_amount(100, Decimal(ratio))
