"""The claim list's default period is this month in China, whatever the server's clock zone."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi import HTTPException

from dualsign.billing.api import default_period
from dualsign.clock import china_today


def test_evening_utc_is_already_tomorrow_in_china() -> None:
    # 17:30 UTC on 30 November is 01:30 on 1 December in Beijing: a claim made then belongs to December.
    now = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)
    assert china_today(now) == dt.date(2026, 12, 1)
    assert default_period(None, None, now) == (dt.date(2026, 12, 1), dt.date(2026, 12, 1))


def test_morning_utc_is_the_same_day() -> None:
    now = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
    assert default_period(None, None, now) == (dt.date(2026, 11, 1), dt.date(2026, 11, 23))


def test_explicit_bounds_are_kept_and_a_backwards_period_refused() -> None:
    now = dt.datetime(2026, 11, 23, 3, 0, tzinfo=dt.UTC)
    assert default_period(dt.date(2026, 10, 5), None, now) == (dt.date(2026, 10, 5), dt.date(2026, 11, 23))
    with pytest.raises(HTTPException):
        default_period(dt.date(2026, 11, 2), dt.date(2026, 11, 1), now)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError):
        china_today(dt.datetime(2026, 11, 23, 3, 0))
