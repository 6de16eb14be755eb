"""Which ectopic beat calls the interpretation states, and which it only mentions as unconfirmed.

The beat classifier judges one beat at a time from its shape and timing. On a single-lead strip, electrode
motion or muscle noise changes the shape of a normal beat as much as ectopy does: on the 2,375 normal
CinC 2017 strips the classifier marked at least one V beat in 41 % and a run of three in 13 % (a false
critical "ventricular tachycardia" on one normal strip in nine). The rhythm model reads the whole span
(RR pattern, P waves, beat shapes together) and was trained on physician-labelled strips; so:

  * in a span the rhythm model rates normal sinus rhythm (its most probable class), isolated V and S calls
    are not stated as PVCs / PACs, nor joined into runs, bigeminy or trigeminy; they stay marked on the
    beats and are listed in a non-abnormal "not confirmed" statement for the reviewer;
  * a run that meets the physiological picture of ventricular tachycardia is stated whatever the rhythm
    model's most probable class: >= 3 V beats at >= 100 /min, faster than the rhythm before it (mean RR
    <= 90 % of the median of the 8 RR intervals before the run) and with a wide QRS (median >= 120 ms). Of
    the 35 runs of >= 3 V beats at >= 100 /min in the 22 MIT-BIH DS1 reference annotations, 34 are that
    much faster (the other is a run after a 2-s pause); the first beat's coupling is not required, since
    long runs often start late (28 of the 35 are premature by 10 %);
  * except where the rhythm model is confident the span is normal sinus rhythm (P(N) >= 0.6): a brief
    "run" there is far more often electrode motion detected as fast wide beats than ventricular
    tachycardia, since a real run disturbs what the model reads (RR pattern, beat shapes) and lowers its
    confidence in sinus rhythm. On the 4,000 CinC 2017 developer strips (out-of-fold rhythm models; the
    threshold was chosen on them, a development figure) such runs were stated on 69 normal strips the
    model rated normal (55 of them at P(N) >= 0.6) and on 12 strips of other rhythms it rated normal, all
    at P(N) 0.34-0.57. The run stays marked on the beats and is counted in the "not confirmed" note for
    the reviewer;
  * in a span the rhythm model rates noise ("~"), nothing is confirmed but such runs (a strip of up to 90 s
    rated noise is rejected as not interpretable before this, see analyzer.py);
  * a run of >= 3 V beats in a stretch the QC finds covered by muscle noise on every usable lead
    (qc.muscle_noise_runs) is not confirmed, the clear-VT pattern included: there the detector finds noise
    peaks between the real beats and the real beats lose their shape (in paced MIT-BIH 104 also the pacing
    spike), so three "beats" at 180-230 /min appear where the tracing shows one or two. The run stays marked
    and is named in a "not confirmed" statement that asks for the tracing to be checked (urgent, not critical).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dualsign.analyzers.ecg.rhythm import VT_MIN_BPM, VT_RATE_TOLERANCE, _runs

RUN_RR_MAX = 0.9
# P(N) from which the rhythm model's "normal sinus rhythm" overrides the clear-VT rule (see above)
CONFIDENT_NORMAL_P = 0.6
WIDE_QRS_MS = 120.0
_UNDERLYING_BEATS = 8


@dataclass
class EctopyCalls:
    labels: list[str]  # classifier labels with unconfirmed V / S calls read as N
    confirmed: np.ndarray  # per beat: an ectopic call the interpretation states
    unconfirmed_v: int
    unconfirmed_s: int
    # (start_s, end_s, beats) of runs of >= 3 V beats at VT rate left unconfirmed for muscle noise
    noisy_vt_runs: list[tuple[float, float, int]] = field(default_factory=list)


def rates_normal(p: dict[str, float]) -> bool:
    """The rhythm model's most probable class for the span is normal sinus rhythm."""
    return bool(p) and max(p, key=lambda k: p[k]) == "N"


def rates_confidently_normal(p: dict[str, float]) -> bool:
    """Normal sinus rhythm is the rhythm model's most probable class, with P(N) >= CONFIDENT_NORMAL_P."""
    return rates_normal(p) and p["N"] >= CONFIDENT_NORMAL_P


def rates_noise(p: dict[str, float]) -> bool:
    """The rhythm model's most probable class for the span is noise ("~"): it cannot tell the rhythm."""
    return bool(p) and max(p, key=lambda k: p[k]) == "~"


def _is_clear_vt(a: int, b: int, t: np.ndarray, qrs_ms: np.ndarray) -> bool:
    if a < 1:
        return False
    run_rr = float(np.mean(np.diff(t[a : b + 1])))
    if 60.0 / run_rr < VT_MIN_BPM * (1.0 - VT_RATE_TOLERANCE):
        return False
    before = np.diff(t[max(0, a - _UNDERLYING_BEATS) : a])
    if before.size == 0:
        return False
    underlying = float(np.median(before))
    widths = qrs_ms[a : b + 1]
    widths = widths[widths > 0]
    wide = widths.size > 0 and float(np.median(widths)) >= WIDE_QRS_MS
    return run_rr <= RUN_RR_MAX * underlying and wide


def v_runs(labels: Sequence[str] | np.ndarray) -> list[tuple[int, int]]:
    """[first, last] beat indices of the runs of >= 3 V beats."""
    return [(a, b) for a, b in _runs(np.asarray(labels, dtype="<U1") == "V") if b - a >= 2]


def confirm(
    labels: Sequence[str], r: np.ndarray, fs: float, normal_span: np.ndarray, qrs_ms: np.ndarray,
    confident_normal: np.ndarray | None = None, noise_span: np.ndarray | None = None,
    muscle_noise: np.ndarray | None = None,
) -> EctopyCalls:
    """normal_span: per beat, the rhythm model rates the beat's span normal sinus rhythm.
    qrs_ms: delineated QRS duration per beat (0 where not delineated).
    confident_normal: per beat, the span's P(N) >= CONFIDENT_NORMAL_P (no clear-VT override there).
    noise_span: per beat, the rhythm model rates the span noise (only clear-VT runs are confirmed there).
    muscle_noise: per beat, part of a V run in a stretch the QC finds covered by muscle noise (none confirmed)."""
    lab = np.asarray(labels, dtype="<U1")
    ectopic = (lab == "V") | (lab == "S")
    confirmed = ectopic & ~normal_span
    if noise_span is not None:
        confirmed &= ~noise_span
    sure_normal = np.zeros(lab.size, bool) if confident_normal is None else np.asarray(confident_normal, bool)
    t = np.asarray(r, dtype=np.float64) / fs
    for a, b in v_runs(lab):
        if not sure_normal[a : b + 1].all() and _is_clear_vt(a, b, t, qrs_ms):
            confirmed[a : b + 1] = True
    # Muscle noise last: only the fast runs it takes away from the statements are named for review.
    in_noise = np.zeros(lab.size, bool) if muscle_noise is None else np.asarray(muscle_noise, bool)
    noisy_vt = [
        (float(t[a]), float(t[b]), b - a + 1)
        for a, b in v_runs(np.where(confirmed, lab, "N"))
        if in_noise[a : b + 1].any()
        and 60.0 / float(np.mean(np.diff(t[a : b + 1]))) >= VT_MIN_BPM * (1.0 - VT_RATE_TOLERANCE)
    ]
    confirmed &= ~in_noise
    out = np.where(ectopic & ~confirmed, "N", lab)
    return EctopyCalls(
        labels=[str(v) for v in out],
        confirmed=confirmed,
        unconfirmed_v=int(np.count_nonzero((lab == "V") & ~confirmed)),
        unconfirmed_s=int(np.count_nonzero((lab == "S") & ~confirmed)),
        noisy_vt_runs=noisy_vt,
    )
