"""Ectopy confirmation: which V/S calls are stated, on beat times built here (no signal needed)."""

from __future__ import annotations

import numpy as np

from dualsign.analyzers.ecg.ectopy import confirm, rates_confidently_normal, rates_noise, rates_normal
from dualsign.analyzers.ecg.rhythm import episodes
from dualsign.analyzers.ecg.statements import interpret

FS = 300.0


def _strip(run_rr_s: float | None = None, n_run: int = 0, isolated_v: bool = False) -> tuple[np.ndarray, list[str]]:
    """30 s of sinus rhythm at 75 /min; optionally one isolated V beat or a run of V beats at run_rr_s."""
    t, labels, now = [], [], 0.5
    while now < 29.0:
        t.append(now)
        labels.append("N")
        if len(t) == 10 and isolated_v:
            now += 0.5
            t.append(now)
            labels.append("V")
            now += 1.1
            continue
        if len(t) == 12 and run_rr_s is not None:
            for _ in range(n_run):
                now += run_rr_s
                t.append(now)
                labels.append("V")
            now += 1.2
            continue
        now += 0.8
    return (np.asarray(t) * FS).astype(np.int64), labels


def test_isolated_v_in_a_normal_span_is_not_stated() -> None:
    r, labels = _strip(isolated_v=True)
    wide = np.full(r.size, 130.0)
    calls = confirm(labels, r, FS, np.ones(r.size, bool), wide)
    assert calls.unconfirmed_v == 1 and "V" not in calls.labels
    assert not calls.confirmed.any()
    # the same beat in a span the rhythm model does not rate normal is stated
    calls = confirm(labels, r, FS, np.zeros(r.size, bool), wide)
    assert calls.unconfirmed_v == 0 and calls.labels.count("V") == 1
    stmts = interpret({"hr_bpm": 75.0}, [], calls.labels, ["I"], None, FS, 30.0)
    assert any(s.key == "pvc" and s.abnormal for s in stmts)


def test_fast_wide_run_is_stated_even_in_a_normal_span() -> None:
    r, labels = _strip(run_rr_s=0.4, n_run=4)  # 150 /min after 75 /min sinus
    calls = confirm(labels, r, FS, np.ones(r.size, bool), np.full(r.size, 140.0))
    assert calls.labels.count("V") == 4 and calls.unconfirmed_v == 0
    eps = episodes(r, FS, int(30 * FS), calls.labels, np.zeros(r.size, bool), np.ones(r.size, bool),
                   np.zeros(r.size, bool))
    assert any(e.label == "VT" for e in eps)


def test_narrow_or_not_faster_runs_need_the_rhythm_model() -> None:
    r, labels = _strip(run_rr_s=0.4, n_run=4)
    narrow = confirm(labels, r, FS, np.ones(r.size, bool), np.full(r.size, 90.0))
    assert narrow.unconfirmed_v == 4 and "V" not in narrow.labels
    r2, labels2 = _strip(run_rr_s=0.78, n_run=4)  # a "run" at the sinus rate: noise-distorted sinus beats
    same_rate = confirm(labels2, r2, FS, np.ones(r2.size, bool), np.full(r2.size, 140.0))
    assert same_rate.unconfirmed_v == 4


def test_rates_normal_is_the_most_probable_class() -> None:
    assert rates_normal({"N": 0.45, "A": 0.1, "O": 0.4, "~": 0.05})
    assert not rates_normal({"N": 0.4, "A": 0.1, "O": 0.45, "~": 0.05})
    assert not rates_normal({})


def test_missing_p_waves_do_not_make_a_normal_span_other() -> None:
    r = (np.arange(0.5, 29.5, 0.8) * FS).astype(np.int64)
    labels = ["N"] * r.size
    no_p = np.zeros(r.size, bool)
    off = episodes(r, FS, int(30 * FS), labels, no_p, no_p, no_p)
    on = episodes(r, FS, int(30 * FS), labels, no_p, no_p, no_p, normal_span=np.ones(r.size, bool))
    assert [e.label for e in off] == ["OTHER"]
    assert [e.label for e in on] == ["SINUS"]


def test_fast_wide_run_in_a_confidently_normal_span_is_only_noted() -> None:
    """Where the rhythm model is sure of normal sinus rhythm (P(N) >= 0.6), a brief fast wide "run" is taken for
    electrode motion: marked, counted as not confirmed, not stated as VT."""
    r, labels = _strip(run_rr_s=0.4, n_run=4)
    ones = np.ones(r.size, bool)
    calls = confirm(labels, r, FS, ones, np.full(r.size, 140.0), confident_normal=ones)
    assert "V" not in calls.labels and calls.unconfirmed_v == 4 and not calls.confirmed.any()
    eps = episodes(r, FS, int(30 * FS), calls.labels, ~ones, ones, ~ones)
    assert not any(e.label == "VT" for e in eps)
    # the same run where the model rates N but less surely is stated (test above); so is one where the run's
    # beats are not all in the confident span (a window boundary in a long record)
    part = ones.copy()
    part[13:] = False
    assert confirm(labels, r, FS, ones, np.full(r.size, 140.0), confident_normal=part).labels.count("V") == 4


def test_noise_span_confirms_no_isolated_ectopy() -> None:
    r, labels = _strip(isolated_v=True)
    zeros = np.zeros(r.size, bool)
    calls = confirm(labels, r, FS, zeros, np.full(r.size, 130.0), noise_span=~zeros)
    assert calls.unconfirmed_v == 1 and "V" not in calls.labels


def test_confidence_and_noise_ratings() -> None:
    assert rates_confidently_normal({"N": 0.6, "A": 0.1, "O": 0.2, "~": 0.1})
    assert not rates_confidently_normal({"N": 0.55, "A": 0.05, "O": 0.3, "~": 0.1})
    assert not rates_confidently_normal({})
    assert rates_noise({"N": 0.3, "A": 0.05, "O": 0.3, "~": 0.35})
    assert not rates_noise({"N": 0.5, "A": 0.05, "O": 0.1, "~": 0.35})
    assert not rates_noise({})
