"""The rhythm CNN (raw rhythm lead) on real samples in tests/data/ecg, and its input preparation.

Honesty note: the shipped CNN trains on all 4000 developer CinC 2017 records, A00027 among them; PTB-XL HR06004
(sinus rhythm, 12-lead, 500 Hz) is from a database the model never saw. Held-out accuracy is measured by
train_rhythm_cnn (5-fold) and recorded in weights/card.json.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from scipy.signal import resample_poly

from dualsign.analyzers.ecg import rhythm_model as rm

DATA = Path(__file__).resolve().parents[2] / "data" / "ecg"


def _band(name: str) -> tuple[np.ndarray, float]:
    rec = wfdb.rdrecord(str(DATA / name))
    sig, fs = np.asarray(rec.p_signal), float(rec.fs)
    names = list(rec.sig_name) if sig.shape[1] > 1 else ["I"]
    return rm.record_bands(sig, fs, names)[0], fs


def test_cnn_gives_af_excerpt_higher_p_af_than_sinus() -> None:
    af_band, af_fs = _band("A00027")  # CinC 2017, label A (300 Hz)
    sr_band, sr_fs = _band("HR06004")  # PTB-XL, sinus rhythm (500 Hz, lead I)
    p_af = rm.cnn_probabilities(af_band, af_fs)
    p_sr = rm.cnn_probabilities(sr_band, sr_fs)
    assert p_af is not None and p_sr is not None
    a = rm.RHYTHM_CLASSES.index("A")
    assert p_af.sum() == pytest.approx(1.0, abs=1e-6) and p_sr.sum() == pytest.approx(1.0, abs=1e-6)
    assert p_af[a] > 0.5
    assert p_sr[a] < 0.2
    assert p_af[a] > p_sr[a] + 0.3
    assert int(p_sr.argmax()) != a


def test_cnn_input_is_rate_and_gain_invariant() -> None:
    band, fs = _band("A00027")
    x = rm.cnn_input(band, fs)
    assert x.dtype == np.float32 and x.size == pytest.approx(band.size * rm.CNN_FS / fs, abs=2)
    np.testing.assert_allclose(rm.cnn_input(3.0 * band, fs), x, atol=1e-5)
    # Same excerpt at 250 Hz: nearly the same network input.
    y = rm.cnn_input(resample_poly(band, 5, 6), 250.0)
    n = min(x.size, y.size)
    assert np.corrcoef(x[50:n - 50], y[50:n - 50])[0, 1] > 0.98


def test_cnn_any_length_and_too_short() -> None:
    band, fs = _band("A00027")
    for seconds in (5.0, 12.5, 30.0):
        p = rm.cnn_probabilities(band[: int(seconds * fs)], fs)
        assert p is not None and p.shape == (4,) and np.all(p >= 0)
    assert rm.cnn_probabilities(band[: int(2.0 * fs)], fs) is None


def test_combined_probabilities_average_both_models() -> None:
    pf = np.array([0.7, 0.1, 0.2, 0.0])
    pc = np.array([0.1, 0.7, 0.1, 0.1])
    np.testing.assert_allclose(rm.combine(pf, pc), (1 - rm.CNN_WEIGHT) * pf + rm.CNN_WEIGHT * pc)
    np.testing.assert_allclose(rm.combine(pf, None), pf)
