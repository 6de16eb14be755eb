"""Paced beats (class Q) and the V threshold for beats without a P wave.

Honesty note: the only paced recording in the developer data is MIT-BIH 104, the record the spike rule was
written against (its excerpt here is therefore not a hold-out check). It is not in the morphology model's
training data (record 104 is evaluation only). The synthetic strips below need no learned model and check each
part of the rule on its own: spike, recurrence, wide QRS, baseline noise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import wfdb

from dualsign.analyzers.ecg import ECGAnalyzer, pacing
from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg.detect import detect_qrs

DATA = Path(__file__).resolve().parents[2] / "data" / "ecg"
PACED = DATA / "mitdb104_320s_45s"
FS = 360.0


def _strip(
    spike_every: int = 1, wide: bool = True, spike_mv: float = 1.5, noise_mv: float = 0.01, n: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic one-lead strip at 72/min: a 3-sample stimulus spike, then a wide (or narrow) QRS and a T wave."""
    rng = np.random.default_rng(0)
    t = np.arange(int((n * 0.8 + 1.0) * FS)) / FS
    x = np.zeros_like(t)
    peaks = []
    for i in range(n):
        t0 = 0.5 + i * 0.8
        if wide:
            x += np.exp(-0.5 * ((t - t0 - 0.04) / 0.02) ** 2) - 1.2 * np.exp(-0.5 * ((t - t0 - 0.10) / 0.03) ** 2)
            peaks.append(t0 + 0.10)
        else:
            x += np.exp(-0.5 * ((t - t0 - 0.03) / 0.008) ** 2)
            peaks.append(t0 + 0.03)
        x += 0.3 * np.exp(-0.5 * ((t - t0 - 0.35) / 0.05) ** 2)
        if i % spike_every == 0:
            k = int(round(t0 * FS))
            x[k - 1 : k + 2] += np.array([0.5, 1.0, 0.5]) * spike_mv
    x += noise_mv * rng.standard_normal(x.size)
    return x[:, None], np.round(np.asarray(peaks) * FS).astype(np.int64)


def test_spiked_wide_rhythm_is_paced() -> None:
    x, r = _strip()
    assert pacing.spike_beats(x, FS, r).all()
    assert bc.paced_beats(x, FS, ["II"], r).all()
    labels, probs = bc.classify_beats(x, FS, ["II"], r)
    assert set(labels) == {"Q"}
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"spike_mv": 0.0}, "no stimulus spike"),
        ({"spike_every": 30}, "one spike is not a paced rhythm"),
        ({"wide": False}, "a narrow QRS after the spike is not ventricular pacing"),
        ({"noise_mv": 0.2}, "a spike that does not stand out of the baseline noise"),
    ],
)
def test_not_paced(kwargs: dict[str, Any], why: str) -> None:
    x, r = _strip(**kwargs)
    assert not bc.paced_beats(x, FS, ["II"], r).any(), why


def test_paced_rhythm_needs_a_third_of_the_beats_around() -> None:
    spiked = np.zeros(63, dtype=bool)
    spiked[::3] = True  # every third beat: 7 of 21
    paced = pacing.paced_rhythm(spiked, np.ones(63, bool))
    assert np.array_equal(paced[10:53], spiked[10:53])  # full 21-beat windows: 7 of 21 spiked
    spiked4 = np.zeros(63, dtype=bool)
    spiked4[::4] = True  # 5 or 6 of 21
    assert not pacing.paced_rhythm(spiked4, np.ones(63, bool)).any()
    assert not pacing.paced_rhythm(spiked, np.zeros(63, bool)).any()  # spiked but narrow


def _paced_excerpt() -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    rec = wfdb.rdrecord(str(PACED))
    ann = wfdb.rdann(str(PACED), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if bc.aami_of_symbol(s) is not None]
    return (np.asarray(rec.p_signal), list(rec.sig_name), np.asarray(ann.sample)[keep],
            [ann.symbol[i] for i in keep])


def test_paced_record_reads_q_not_v() -> None:
    # MIT-BIH 104, 320-365 s: paced rhythm with pacemaker fusion and a few native beats. Without the spike
    # rule 22 of these paced beats read V (wide, no P wave: a ventricular shape).
    sig, names, ref, sym = _paced_excerpt()
    peaks = detect_qrs(sig, FS)
    labels, _ = bc.classify_beats(sig, FS, names, peaks)
    dist = np.abs(ref[:, None] - peaks[None, :])
    near = dist.argmin(axis=1)
    ok = dist.min(axis=1) <= int(0.15 * FS)
    pred = np.asarray(labels)[near[ok]]
    ref_sym = np.asarray(sym)[ok]
    paced = ref_sym == "/"
    assert paced.sum() >= 35
    assert np.mean(pred[paced] == "Q") >= 0.9
    assert int(np.sum(pred[paced] == "V")) <= 1
    # The native beats between the paced stretches are not taken for paced.
    assert not np.any(pred[ref_sym == "N"] == "Q")


def test_paced_record_has_no_paced_ventricular_runs() -> None:
    # Without the spike rule the analyzer read 45 V beats here, a 13-beat VT and idioventricular runs of 3, 6 and
    # 23 paced beats. Two 3-4 beat "VT" runs remained at 7-10 s: detections in a burst of muscle noise between
    # paced beats (whose spike the noise hides), not paced runs. The one at 9.4 s is now left unconfirmed for
    # muscle noise (qc.muscle_noise_runs); the one at 7.0 s stays (V2's high-frequency share 0.148, just under 0.15).
    raw = ECGAnalyzer().analyze([PACED]).raw
    assert raw["models"]["beat_classifier"] == "learned"
    runs = [e for e in raw["rhythm"] if e["label"] in ("VT", "VRUN")]
    assert not [e for e in runs if e["label"] == "VRUN"], runs
    assert all(e["n_beats"] <= 4 for e in runs), runs
    assert len(runs) <= 1 and not [e for e in runs if e["start_s"] > 9.0], runs
    assert raw["beat_counts"]["Q"] >= 35
    assert raw["beat_counts"]["V"] <= 12


def test_no_paced_beats_in_non_paced_excerpts() -> None:
    for name in ("mitdb106_150s_60s", "mitdb223_570s_25s"):
        rec = wfdb.rdrecord(str(DATA / name))
        sig = np.asarray(rec.p_signal)
        peaks = detect_qrs(sig, FS)
        assert not bc.paced_beats(sig, FS, list(rec.sig_name), peaks).any(), name


def test_lower_v_threshold_maps_threshold_to_half() -> None:
    p = np.array([[0.9, 0.1], [0.75, 0.25], [0.6, 0.4], [0.2, 0.8], [0.75, 0.25]])
    no_p = np.array([True, True, True, True, False])
    out = bc.lower_v_threshold(p, no_p, 0.25)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    assert out[1, 1] == pytest.approx(0.5)
    assert out[0, 1] < 0.5 < out[2, 1] < out[3, 1]
    np.testing.assert_array_equal(out[4], p[4])  # a beat with a P wave keeps its probabilities
    np.testing.assert_allclose(bc.lower_v_threshold(p, no_p, 0.5), p)


def test_shipped_threshold_comes_from_the_card() -> None:
    from dualsign.analyzers.ecg.training.train_beats import V_GRID

    card = json.loads((bc.WEIGHTS_DIR / "card.json").read_text())["beats"]
    assert bc.no_p_v_threshold() == card["no_p_v_threshold"]
    assert card["no_p_v_threshold"] in V_GRID


def test_classifier_applies_the_no_p_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    rec = wfdb.rdrecord(str(DATA / "mitdb106_150s_60s"))
    sig, names = np.asarray(rec.p_signal), list(rec.sig_name)
    peaks = detect_qrs(sig, FS)
    hint = np.ones(peaks.size, dtype=bool)
    hint[5] = False  # one beat without a P wave in a P-wave rhythm
    labels, _ = bc.classify_beats(sig, FS, names, peaks, hint)
    assert labels[5] != "V"  # a conducted-looking beat of the dominant shape
    monkeypatch.setattr(bc, "no_p_v_threshold", lambda: 1e-3)
    lenient, _ = bc.classify_beats(sig, FS, names, peaks, hint)
    assert lenient[5] == "V"
    assert [lab for i, lab in enumerate(lenient) if i != 5] == [lab for i, lab in enumerate(labels) if i != 5]
