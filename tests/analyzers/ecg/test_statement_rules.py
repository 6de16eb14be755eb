"""Statement rules on given measurements and episodes (no signal): what makes a statement abnormal."""

from __future__ import annotations

from typing import Any

from dualsign.analyzers.ecg.rhythm import Episode
from dualsign.analyzers.ecg.statements import interpret


def _brady(hr: float) -> list[dict[str, Any]]:
    eps = [Episode("SINUS_BRADY", 0.0, 30.0, int(hr / 2), hr)]
    return [s.to_dict() for s in interpret({"hr_bpm": hr}, eps, ["N"] * int(hr / 2), ["I"], None, 300.0, 30.0)]


def test_sinus_rate_of_50_to_59_is_stated_but_not_abnormal() -> None:
    stmts = _brady(55.0)
    brady = [s for s in stmts if s["code"] == "426177001"]
    assert len(brady) == 1 and brady[0]["abnormal"] is False and not brady[0]["critical"]
    assert brady[0]["criteria"]["hr_bpm"] == 55.0 and brady[0]["criteria"]["abnormal_below_bpm"] == 50.0
    assert not any(s["abnormal"] for s in stmts)


def test_sinus_rate_below_50_is_abnormal_and_below_40_critical() -> None:
    brady = [s for s in _brady(45.0) if s["code"] == "426177001"]
    assert len(brady) == 1 and brady[0]["abnormal"] is True and not brady[0]["critical"]
    brady = [s for s in _brady(36.0) if s["code"] == "426177001"]
    assert len(brady) == 1 and brady[0]["abnormal"] is True and brady[0]["critical"]
