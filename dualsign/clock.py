"""The hospital's calendar: China Standard Time (Asia/Shanghai, UTC+8 all year, no daylight saving since 1991).

Timestamps are stored in UTC; whenever a *day* matters (a licence valid on a date, a billing period, "today"
in a list's default range) it is the day in China, not the server's local or UTC day: between 16:00 and 24:00
UTC the two differ.
"""

from __future__ import annotations

import datetime as dt

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def china_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in China; `now` (timezone-aware) for tests and replays, else the current instant."""
    instant = now if now is not None else dt.datetime.now(dt.UTC)
    if instant.tzinfo is None:
        raise ValueError("china_today needs a timezone-aware instant")
    return instant.astimezone(CHINA_TZ).date()
