"""The RR model's reference rhythm without ventricular beats (beat_classes.rr_model_features)."""

from __future__ import annotations

import numpy as np
import pytest

from dualsign.analyzers.ecg import beat_classes as bc

PRE_L, POST_L, IRREG = (bc.RR_FEATURES.index(n) for n in ("pre_local", "post_local", "irreg"))
CLEAN_IRREG, PRE_C, POST_C = (bc.RR_MODEL_FEATURES.index(n) for n in ("clean_irreg", "pre_clean_local",
                                                                      "post_clean_local"))


def _quadrigeminy(n_cycles: int = 20) -> tuple[np.ndarray, np.ndarray, int]:
    """Sinus rhythm at 0.8 s with every fourth beat a PVC (coupling 0.5 s, compensatory pause 1.1 s), and one
    atrial premature beat (0.6 s after a sinus beat, a 0.9 s pause after it) in the middle; (times, V mask,
    index of the S beat)."""
    rr: list[float] = []
    for _ in range(n_cycles):
        rr += [0.8, 0.8, 0.5, 1.1]
    mid = 4 * (n_cycles // 2) + 1
    rr[mid] = 0.6
    rr[mid + 1] = 0.9
    t = np.concatenate([[0.0], np.cumsum(rr)])
    v = np.zeros(t.size, dtype=bool)
    v[3::4] = True
    return t, v, mid + 1


def test_without_a_mask_the_features_are_unchanged() -> None:
    t, v, _ = _quadrigeminy()
    plain = bc.rr_features(t)
    np.testing.assert_array_equal(bc.rr_features(t, np.zeros(t.size, dtype=bool)), plain)
    x = bc.rr_model_features(t, None)
    assert x.shape == (t.size, len(bc.RR_MODEL_FEATURES))
    np.testing.assert_array_equal(x[:, :len(bc.RR_FEATURES)], plain)
    np.testing.assert_array_equal(x[:, [PRE_C, POST_C]], plain[:, [PRE_L, POST_L]])


def test_ectopy_does_not_make_the_rhythm_irregular() -> None:
    t, v, s = _quadrigeminy()
    plain = bc.rr_features(t)
    x = bc.rr_model_features(t, v)
    # Coupling interval and pause inflate the plain irregularity; the intervals between sinus beats are steady.
    assert plain[s, IRREG] > 0.3
    assert x[s, CLEAN_IRREG] == pytest.approx(0.0, abs=1e-6)
    # The S beat is premature against the sinus rhythm (0.6 / 0.8), its pause long.
    assert x[s, PRE_C] == pytest.approx(0.75, abs=1e-6)
    assert x[s, POST_C] == pytest.approx(0.9 / 0.8, abs=1e-6)
    # The other plain columns stay as they are.
    np.testing.assert_array_equal(np.delete(x[:, :len(bc.RR_FEATURES)], CLEAN_IRREG, axis=1),
                                  np.delete(plain, IRREG, axis=1))


def test_a_run_of_ventricular_beats_falls_back_to_the_plain_reference() -> None:
    # Every beat ventricular (VT): no clean interval, so every interval counts as without a mask.
    t = np.cumsum(np.r_[0.0, np.full(30, 0.45)])
    np.testing.assert_array_equal(bc.rr_features(t, np.ones(t.size, dtype=bool)), bc.rr_features(t))


def test_ventricular_calls_leave_paced_beats_out() -> None:
    p_m = np.array([[0.2, 0.8], [0.6, 0.4], [0.1, 0.9]])
    np.testing.assert_array_equal(bc.ventricular_calls(p_m, np.array([0.0, 0.0, 1.0])), [True, False, False])
