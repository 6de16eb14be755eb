"""Learned parts of the ECG analyzer (beat classes, rhythm / AF) on real samples in tests/data/ecg.

Honesty note: the shipped models train on every developer record, so both real samples here were seen in
training (MIT-BIH 106 by the beat morphology model, CinC A00027 by the rhythm model). These tests check that
the shipped weights, their wiring and the feature code work end to end; held-out accuracy is measured by the
training scripts (leave-one-record-out / 5-fold) and recorded in weights/card.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import rhythm_model as rm
from dualsign.analyzers.ecg.detect import detect_qrs

DATA = Path(__file__).resolve().parents[2] / "data" / "ecg"
CARD = bc.WEIGHTS_DIR / "card.json"


def _mitdb_excerpt() -> tuple[np.ndarray, float, list[str], np.ndarray, list[str]]:
    rec = wfdb.rdrecord(str(DATA / "mitdb106_150s_60s"))
    ann = wfdb.rdann(str(DATA / "mitdb106_150s_60s"), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if bc.aami_of_symbol(s) is not None]
    ref = np.asarray(ann.sample)[keep]
    labels = [str(bc.aami_of_symbol(ann.symbol[i])) for i in keep]
    return np.asarray(rec.p_signal), float(rec.fs), list(rec.sig_name), ref, labels


def test_weights_match_card_sha256() -> None:
    card = json.loads(CARD.read_text())
    names = {bc.MORPH_MODEL, bc.RR_MODEL, rm.RHYTHM_MODEL, rm.CNN_MODEL}
    assert names <= set(card["weights_sha256"])
    for name in names:
        assert bc.sha256_file(bc.WEIGHTS_DIR / name) == card["weights_sha256"][name], name
    assert card["beats"]["loo_signal_records"]["ref"]["per_class"]["V"]["n"] > 1000
    assert 0.0 < card["rhythm"]["cv_mean_over_folds"]["score_mean_f1_NAO"] <= 1.0


def test_v_beats_of_real_excerpt_on_detected_peaks() -> None:
    # Record 106 (in training, see module note): 60 s with a run of ventricular tachycardia.
    sig, fs, names, ref, labels = _mitdb_excerpt()
    peaks = detect_qrs(sig, fs)
    pred, probs = bc.classify_beats(sig, fs, names, peaks)
    assert probs.shape == (peaks.size, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(probs >= 0)
    dist = np.abs(peaks[:, None] - ref[None, :])
    nearest = dist.argmin(axis=1)
    matched = dist.min(axis=1) <= int(0.15 * fs)
    ref_v = np.array([labels[j] == "V" for j in nearest[matched]])
    pred_v = np.array([p == "V" for p in np.asarray(pred)[matched]])
    assert ref_v.sum() >= 10
    tp = int((ref_v & pred_v).sum())
    assert tp / ref_v.sum() >= 0.9  # sensitivity
    assert tp / max(int(pred_v.sum()), 1) >= 0.9  # positive predictivity


def test_p_wave_feature_only_in_a_p_wave_rhythm() -> None:
    sig, fs, names, ref, _ = _mitdb_excerpt()
    col = len(bc.RR_FEATURES) + bc.MORPH_FEATURES.index("p_wave")
    # Without delineation, or where almost no beat has a P wave (AF), the feature is neutral ("present").
    for hint in (None, np.zeros(ref.size, dtype=bool)):
        morph, _ = bc.beat_features(sig, fs, names, ref, hint)
        assert np.all(morph[:, col] == 1.0)
    # In a P-wave rhythm, a beat without a P wave reads 0.
    hint = np.ones(ref.size, dtype=bool)
    hint[5] = False
    morph, _ = bc.beat_features(sig, fs, names, ref, hint)
    assert morph[5, col] == 0.0 and np.all(np.delete(morph[:, col], 5) == 1.0)
    # Its interval ratios are neutral (shape decides); the RR model's features keep the true timing.
    rr_true = bc.rr_features(ref / fs)
    assert np.all(morph[5, [3, 4, 5, 6, 7, 10]] == 1.0)
    assert morph[5, 0] == pytest.approx(rr_true[5, 2])
    np.testing.assert_allclose(np.delete(morph[:, :11], 5, axis=0), np.delete(rr_true, 5, axis=0), rtol=1e-6)


def test_conducted_beats_are_never_v() -> None:
    rr = bc.rr_features(np.arange(20) * 0.8)
    assert not bc.conducted(rr, None).any()
    hint = np.ones(20, dtype=bool)
    hint[3] = False
    cond = bc.conducted(rr, hint)
    assert cond.sum() == 19 and not cond[3]
    gated = bc.gate_v(np.tile([0.2, 0.8], (20, 1)), cond)
    assert gated[3, 1] == 0.8 and np.all(np.delete(gated[:, 1], 3) == 0.0)
    np.testing.assert_allclose(gated.sum(axis=1), 1.0)


def test_labels_follow_input_order_and_any_rate() -> None:
    sig, fs, names, ref, _ = _mitdb_excerpt()
    peaks = detect_qrs(sig, fs)
    lab, p = bc.classify_beats(sig, fs, names, peaks)
    rev_lab, rev_p = bc.classify_beats(sig, fs, names, peaks[::-1])
    assert rev_lab == lab[::-1]
    np.testing.assert_allclose(rev_p, p[::-1], atol=1e-6)
    # Same excerpt at 250 Hz, one lead: V beats still found (the model works on a fixed time grid).
    from scipy.signal import resample_poly

    x250 = resample_poly(sig[:, :1], 25, 36, axis=0)
    pk250 = np.round(peaks * 250 / 360).astype(np.int64)
    lab250, _ = bc.classify_beats(x250, 250.0, names[:1], pk250)
    agree = np.mean(np.asarray(lab250) == np.asarray(lab))
    assert agree >= 0.85


def test_empty_and_short_inputs() -> None:
    lab, p = bc.classify_beats(np.zeros((1000, 1)), 250.0, ["II"], np.zeros(0, dtype=np.int64))
    assert lab == [] and p.shape == (0, 5)
    probs = rm.rhythm_probabilities(np.zeros((1000, 1)), 250.0, ["II"], np.zeros(0, dtype=np.int64), [])
    assert set(probs) == {"N", "A", "O", "~"}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)


def test_af_record_scores_a_above_n() -> None:
    # CinC 2017 A00027 (label A; in the rhythm model's training data, see module note).
    rec = wfdb.rdrecord(str(DATA / "A00027"))
    sig, fs = np.asarray(rec.p_signal), float(rec.fs)
    peaks = detect_qrs(sig, fs)
    labels, _ = bc.classify_beats(sig, fs, ["ECG"], peaks)
    probs = rm.rhythm_probabilities(sig, fs, ["ECG"], peaks, labels)
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert probs["A"] > probs["N"]
    assert probs["A"] > 0.5


def test_regular_sinus_12_lead_is_not_af() -> None:
    # PTB-XL HR06004, labelled sinus rhythm; the rhythm model never saw 12-lead or PTB-XL records.
    rec = wfdb.rdrecord(str(DATA / "HR06004"))
    sig, fs = np.asarray(rec.p_signal), float(rec.fs)
    peaks = detect_qrs(sig, fs)
    labels, _ = bc.classify_beats(sig, fs, list(rec.sig_name), peaks)
    probs = rm.rhythm_probabilities(sig, fs, list(rec.sig_name), peaks, labels)
    assert probs["A"] < 0.2
    assert probs["N"] > probs["A"]
