"""A strip the rhythm model rates noise is rejected with a reason the technologist can act on."""

from __future__ import annotations

from typing import Any

import numpy as np
import synthetic_rhythms as sr

from dualsign.analyzers.ecg import ECGAnalyzer
from dualsign.analyzers.ecg.analyzer import noise_reason
from dualsign.analyzers.ecg.read import ECGRecord

FS = 500.0


def _rated(p: dict[str, float]) -> Any:
    def fn(*_: Any, **__: Any) -> dict[str, float]:
        return dict(p)

    return fn


def _raw(an: ECGAnalyzer, x: np.ndarray) -> dict[str, Any]:
    return an.analyze_record(ECGRecord(x, FS, list(sr.LEADS), "test", "built")).raw


def test_strip_rated_noise_is_not_interpretable() -> None:
    an = ECGAnalyzer()
    x = sr.sinus(duration_s=30.0, fs=FS)
    an._rhythm_fn = _rated({"N": 0.3, "A": 0.05, "O": 0.25, "~": 0.4})
    raw = _raw(an, x)
    assert not raw["quality"]["usable"]
    assert any(s.startswith("rhythm not classifiable: noise") for s in raw["quality"]["reasons"])
    assert raw["statements"] == [] and [e["label"] for e in raw["rhythm"]] == ["NOISE"]
    assert raw["rhythm_probabilities"]["~"] == 0.4  # the verdict's basis stays in the findings
    assert not any("wide-complex run" in s for s in raw["quality"]["reasons"])  # no run in this strip
    # the same strip rated normal is read
    an._rhythm_fn = _rated({"N": 0.7, "A": 0.05, "O": 0.15, "~": 0.1})
    raw = _raw(an, x)
    assert raw["quality"]["usable"] and "SINUS" in {e["label"] for e in raw["rhythm"]}


def test_long_record_is_not_rejected_on_the_rhythm_model_noise_rating() -> None:
    an = ECGAnalyzer()
    an._rhythm_fn = _rated({"N": 0.3, "A": 0.05, "O": 0.25, "~": 0.4})
    raw = _raw(an, sr.sinus(duration_s=120.0, fs=FS))
    assert raw["quality"]["usable"]


def test_fast_wide_run_in_noise_asks_for_a_retake_now() -> None:
    fs = 300.0
    t = list(np.arange(0.5, 9.0, 0.8)) + [9.4, 9.8, 10.2, 10.6] + list(np.arange(11.8, 29.0, 0.8))
    r = (np.asarray(t) * fs).astype(np.int64)
    labels = ["V" if 9.3 < x < 10.7 else "N" for x in t]  # 4 beats at 150 /min after 75 /min
    p = {"N": 0.2, "A": 0.05, "O": 0.3, "~": 0.45}
    wide = noise_reason(p, labels, r, fs, np.full(r.size, 140.0))
    assert wide.startswith("rhythm not classifiable: noise") and "repeat the recording now" in wide
    narrow = noise_reason(p, labels, r, fs, np.full(r.size, 90.0))  # not the clear-VT pattern
    assert "repeat the recording now" not in narrow
