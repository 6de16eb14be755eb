"""Interpretation statements with SNOMED CT codes and the measured criteria behind each one, and urgency.

Criteria follow common adult resting-ECG conventions (AHA/ACCF/HRS 2009 recommendations; 4th universal MI
definition for ST elevation). Sex is not known to the analyzer, so sex-specific thresholds use the value
that is safer for review (e.g. the lower ST-elevation limit in V2-V3, the QTc limit for men).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dualsign.analyzers.base import Urgency
from dualsign.analyzers.ecg import qc
from dualsign.analyzers.ecg.ectopy import EctopyCalls, rates_normal
from dualsign.analyzers.ecg.flutter import FlutterMeasure
from dualsign.analyzers.ecg.leads import STANDARD_12
from dualsign.analyzers.ecg.measure import MedianBeat
from dualsign.analyzers.ecg.rhythm import Episode

SINUS_BRADY_ABNORMAL_BELOW_BPM = 50.0

SCT = {
    "normal": "164854000",
    "sinus": "426783006",
    "brady": "426177001",
    "tachy": "427084000",
    "af": "164889003",
    "afl": "164890007",
    "svt": "426761007",
    "vt": "164895002",
    "ivr": "49260003",
    "bigeminy": "11157007",
    "trigeminy": "75532003",
    "pause": "5609005",
    "avb1": "270492004",
    "rbbb": "59118001",
    "lbbb": "164909002",
    "ivcd": "698252002",
    "lvh": "164873001",
    "long_qt": "111975006",
    "ste": "164931005",
    "pvc": "427172004",
    "pac": "284470004",
    "low_voltage": "251146004",
    "lad": "39732003",
    "rad": "47665007",
}
AF_RVR_BPM = 110.0
TERRITORIES = {
    "anterior": ("V1", "V2", "V3", "V4"),
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
}


@dataclass
class Statement:
    key: str
    text: str
    criteria: dict[str, Any]
    abnormal: bool = True
    critical: bool = False
    location: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> str | None:
        return SCT.get(self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "text": self.text,
            "criteria": self.criteria,
            "abnormal": self.abnormal,
            "critical": self.critical,
        }


def _terminal_area(mb: MedianBeat, names: list[str], lead: str, fs: float, last_ms: float = 40.0) -> float | None:
    if lead not in names:
        return None
    j = names.index(lead)
    q_on, q_off = int(mb.bounds.qrs_on[0]), int(mb.bounds.qrs_off[0])
    iso = float(mb.beat[max(0, q_on - int(0.02 * fs)) : q_on + 1, j].mean())
    a = max(q_on, q_off - int(last_ms * fs / 1000.0))
    return float((mb.beat[a : q_off + 1, j] - iso).sum() / fs * 1000.0)  # mV*ms


def interpret(
    m: dict[str, Any],
    eps: list[Episode],
    labels: list[str],
    names: list[str],
    mb: MedianBeat | None,
    fs: float,
    duration_s: float,
    flutter: list[FlutterMeasure] | None = None,
) -> list[Statement]:
    out: list[Statement] = []
    hr = m.get("hr_bpm")
    base = [e for e in eps if e.label in ("SINUS", "SINUS_BRADY", "SINUS_TACHY", "AF", "AFL", "SVT", "OTHER")]
    total = sum(e.end_s - e.start_s for e in base) or 1.0
    by_label: dict[str, float] = {}
    for e in base:
        by_label[e.label] = by_label.get(e.label, 0.0) + (e.end_s - e.start_s)
    extreme = hr is not None and (hr < 40 or hr > 150)
    rate_crit = {"hr_bpm": hr, "critical_if": "HR < 40 or > 150 /min"}

    af_eps = [e for e in eps if e.label == "AF"]
    if af_eps:
        af_hr = max((e.hr_bpm or 0.0) for e in af_eps)
        rvr = af_hr > AF_RVR_BPM
        out.append(
            Statement(
                "af",
                "Atrial fibrillation" + (" with rapid ventricular response" if rvr else ""),
                {
                    "ventricular_rate_bpm": round(af_hr, 1),
                    "rr_irregular": True,
                    "p_waves": "absent",
                    "af_burden_pct": round(100 * by_label.get("AF", 0) / total, 1),
                    "rapid_if_rate_above_bpm": AF_RVR_BPM,
                },
                critical=rvr or extreme,
                location={"start_s": af_eps[0].start_s, "end_s": af_eps[-1].end_s},
            )
        )
    afl_eps = [e for e in eps if e.label == "AFL"]
    if afl_eps:
        best = max(flutter or [], key=lambda m: m.organisation, default=None)
        afl_hr = max((e.hr_bpm or 0.0) for e in afl_eps)
        out.append(
            Statement(
                "afl",
                "Atrial flutter",
                {
                    **(best.criteria() if best is not None else {}),
                    "ventricular_rate_bpm": round(afl_hr, 1),
                    "afl_burden_pct": round(100 * by_label.get("AFL", 0) / total, 1),
                    "rule": "QRS-cancelled residual: dominant atrial rate 210-360 /min holding >= 60 % of the "
                    "2-20 Hz power with its harmonics, flutter waves continuous through the T-Q spans, atrial "
                    "rate >= 1.7 x ventricular rate",
                },
                critical=extreme or afl_hr > 150,
                location={"start_s": afl_eps[0].start_s, "end_s": afl_eps[-1].end_s},
            )
        )
    for label, key, text, lim in (
        ("SINUS_BRADY", "brady", "Sinus bradycardia", "HR < 60 /min"),
        ("SINUS_TACHY", "tachy", "Sinus tachycardia", "HR > 100 /min"),
    ):
        if by_label.get(label, 0.0) >= 0.5 * total:
            # Sinus rates of 50-59 /min are common in healthy adults at rest: stated, but not abnormal; the
            # 2018 ACC/AHA/HRS bradycardia guideline takes < 50 /min as sinus bradycardia.
            mild = key == "brady" and hr is not None and hr >= SINUS_BRADY_ABNORMAL_BELOW_BPM
            crit = {**rate_crit, "threshold": lim, "abnormal_below_bpm": SINUS_BRADY_ABNORMAL_BELOW_BPM} if (
                key == "brady") else {**rate_crit, "threshold": lim}
            out.append(Statement(key, text, crit, abnormal=not mild, critical=extreme))
    if by_label.get("SINUS", 0.0) >= 0.5 * total and not any(s.key in ("brady", "tachy") for s in out):
        out.append(
            Statement(
                "sinus",
                "Sinus rhythm",
                {"hr_bpm": hr, "p_waves": "present before QRS"},
                abnormal=False,
                critical=extreme,
            )
        )
    if by_label.get("SVT", 0.0) >= 0.5 * total:
        out.append(
            Statement(
                "svt",
                "Supraventricular tachycardia",
                {**rate_crit, "p_waves": "not identified"},
                critical=extreme,
            )
        )
    if by_label.get("OTHER", 0.0) >= 0.5 * total:
        out.append(
            Statement(
                "other_rhythm",
                "Regular rhythm without identifiable P waves (non-sinus)",
                {"hr_bpm": hr, "p_waves": "not identified"},
                critical=extreme,
            )
        )
    if extreme and not any(s.critical for s in out):
        out.append(
            Statement(
                "brady" if (hr or 0) < 40 else "tachy",
                "Extreme bradycardia" if (hr or 0) < 40 else "Extreme tachycardia",
                rate_crit,
                critical=True,
            )
        )
    vt = [e for e in eps if e.label == "VT"]
    if vt:
        longest = max(vt, key=lambda e: e.n_beats)
        out.append(
            Statement(
                "vt",
                "Ventricular tachycardia" + (" (non-sustained)" if longest.end_s - longest.start_s < 30 else ""),
                {
                    "runs": len(vt),
                    "longest_run_beats": longest.n_beats,
                    "rate_bpm": longest.hr_bpm,
                    "rule": ">= 3 consecutive ventricular beats >= 100 /min",
                },
                critical=True,
                location={"start_s": longest.start_s, "end_s": longest.end_s},
            )
        )
    vr = [e for e in eps if e.label == "VRUN"]
    if vr:
        out.append(
            Statement(
                "ivr",
                "Ventricular run(s) below 100 /min (idioventricular)",
                {"runs": len(vr), "longest_run_beats": max(e.n_beats for e in vr)},
            )
        )
    for label, key, text in (
        ("BIGEMINY", "bigeminy", "Ventricular bigeminy"),
        ("TRIGEMINY", "trigeminy", "Ventricular trigeminy"),
    ):
        ep = [e for e in eps if e.label == label]
        if ep:
            out.append(
                Statement(
                    key,
                    text,
                    {"episodes": len(ep), "duration_s": round(sum(e.end_s - e.start_s for e in ep), 1)},
                )
            )
    pauses = [e for e in eps if e.label == "PAUSE"]
    if pauses:
        longest_p = max(pauses, key=lambda e: e.end_s - e.start_s)
        dur = longest_p.end_s - longest_p.start_s
        out.append(
            Statement(
                "pause",
                "Pause",
                {
                    "longest_pause_s": round(dur, 2),
                    "count": len(pauses),
                    "rule": "RR >= 2.0 s; critical if >= 3.0 s",
                },
                critical=dur >= 3.0,
                location={"start_s": longest_p.start_s, "end_s": longest_p.end_s},
            )
        )
    n_v = labels.count("V")
    n_s = labels.count("S")
    minutes = max(duration_s / 60.0, 1e-9)
    if n_v:
        out.append(
            Statement(
                "pvc",
                "Premature ventricular contractions",
                {"count": n_v, "per_min": round(n_v / minutes, 1)},
            )
        )
    if n_s and not af_eps and not afl_eps:
        out.append(
            Statement("pac", "Premature atrial contractions", {"count": n_s, "per_min": round(n_s / minutes, 1)})
        )

    pr, qrs = m.get("pr_ms"), m.get("qrs_ms")
    # Interval statements need more than one lead: on a single-lead strip the P onset and T end are often
    # not visible, and a wrong interval statement would mislabel a normal rhythm strip.
    multi = len(names) >= 2
    if multi and pr is not None and pr > 200 and not af_eps and not afl_eps:
        out.append(Statement("avb1", "First-degree AV block", {"pr_ms": pr, "threshold_ms": 200}))
    twelve = sum(1 for n in names if n in STANDARD_12) >= 8
    lbbb = rbbb = False
    if mb is not None and qrs is not None and qrs >= 120:
        v1 = _terminal_area(mb, names, "V1", fs)
        lat = [a for a in (_terminal_area(mb, names, ld, fs) for ld in ("I", "V6")) if a is not None]
        if v1 is not None and lat:
            if v1 > 0 and min(lat) < 0:
                rbbb = True
                out.append(
                    Statement(
                        "rbbb",
                        "Right bundle branch block",
                        {
                            "qrs_ms": qrs,
                            "v1_terminal_area_mv_ms": round(v1, 1),
                            "rule": "QRS >= 120 ms, terminal R in V1, terminal S in I/V6",
                        },
                    )
                )
            elif v1 < 0 and min(lat) > 0:
                lbbb = True
                out.append(
                    Statement(
                        "lbbb",
                        "Left bundle branch block",
                        {
                            "qrs_ms": qrs,
                            "v1_terminal_area_mv_ms": round(v1, 1),
                            "rule": "QRS >= 120 ms, negative V1, broad positive I/V6",
                        },
                    )
                )
            else:
                out.append(Statement("ivcd", "Nonspecific intraventricular conduction delay", {"qrs_ms": qrs}))
    amps = m.get("qrs_amplitudes_mv", {})
    if twelve and amps:
        s_v1 = amps.get("V1", {}).get("s")
        r_v56 = max([amps[ld]["r"] for ld in ("V5", "V6") if ld in amps] or [0.0])
        r_avl = amps.get("aVL", {}).get("r")
        sok = (s_v1 or 0.0) + r_v56
        if sok >= 3.5 or (r_avl or 0.0) >= 1.1:
            out.append(
                Statement(
                    "lvh",
                    "Left ventricular hypertrophy by voltage criteria",
                    {
                        "sokolow_lyon_mv": round(sok, 2),
                        "r_avl_mv": r_avl,
                        "rule": "S(V1) + R(V5/V6) >= 3.5 mV or R(aVL) >= 1.1 mV",
                    },
                )
            )
        limb = [amps[ld]["r"] + amps[ld]["s"] for ld in ("I", "II", "III", "aVR", "aVL", "aVF") if ld in amps]
        prec = [amps[ld]["r"] + amps[ld]["s"] for ld in ("V1", "V2", "V3", "V4", "V5", "V6") if ld in amps]
        if len(limb) == 6 and max(limb) < 0.5:
            out.append(
                Statement(
                    "low_voltage",
                    "Low QRS voltage (limb leads)",
                    {"max_limb_qrs_mv": round(max(limb), 2), "threshold_mv": 0.5},
                )
            )
        elif len(prec) == 6 and max(prec) < 1.0:
            out.append(
                Statement(
                    "low_voltage",
                    "Low QRS voltage (precordial leads)",
                    {"max_precordial_qrs_mv": round(max(prec), 2), "threshold_mv": 1.0},
                )
            )
    qtc_b, qtc_f = m.get("qtc_bazett_ms"), m.get("qtc_fridericia_ms")
    qtc = qtc_f if (hr or 0) > 90 else qtc_b
    if multi and qtc is not None and qtc >= 460 and (qrs or 0) < 120:
        out.append(
            Statement(
                "long_qt",
                "Prolonged QT interval",
                {
                    "qt_ms": m.get("qt_ms"),
                    "qtc_ms": qtc,
                    "formula": "Fridericia" if (hr or 0) > 90 else "Bazett",
                    "threshold_ms": 460,
                },
            )
        )
    # STEMI criteria (Fourth Universal Definition of MI) are read at the J point: at J+60 the normal
    # up-sloping ST of V2-V4 already rises into the T wave and over-calls elevation.
    st = m.get("st_j_mv") or {}
    if twelve and st:
        hits: dict[str, list[str]] = {}
        for terr, leads in TERRITORIES.items():
            for ld in leads:
                v = st.get(ld)
                st_lim = 0.15 if ld in ("V2", "V3") else 0.1
                if v is not None and v >= st_lim:
                    hits.setdefault(terr, []).append(ld)
        hits = {k: v for k, v in hits.items() if len(v) >= 2}
        if hits:
            stemi = not lbbb and (qrs or 0) < 120
            out.append(
                Statement(
                    "ste",
                    "ST elevation, " + ", ".join(hits) + " leads" + (": suspect acute injury (STEMI)" if stemi else ""),
                    {
                        "leads": hits,
                        "st_j_mv": {ld: st[ld] for v in hits.values() for ld in v},
                        "rule": ">= 0.1 mV at the J point in 2 contiguous leads (>= 0.15 mV in V2-V3)",
                    },
                    critical=stemi,
                )
            )
    # In RBBB the axis is read from the initial forces: the delayed right-ventricular terminal S is no axis shift.
    ax_key = "qrs_axis_initial_deg" if rbbb and m.get("qrs_axis_initial_deg") is not None else "qrs_axis_deg"
    ax = m.get(ax_key)
    if twelve and ax is not None and not lbbb:
        if -90 <= ax < -30:
            out.append(Statement("lad", "Left axis deviation", {ax_key: ax, "threshold_deg": -30}))
        elif 90 < ax <= 180:
            out.append(Statement("rad", "Right axis deviation", {ax_key: ax, "threshold_deg": 90}))
    if twelve and out and not any(s.abnormal for s in out) and any(s.key in ("sinus", "brady") for s in out):
        out.insert(
            0,
            Statement(
                "normal",
                "Otherwise normal ECG" if any(s.key == "brady" for s in out) else "Normal ECG",
                {"rule": "sinus rhythm (rate >= 50 /min), no abnormal finding"},
                abnormal=False,
            ),
        )
    return out


def rhythm_model_statement(window_probs: list[dict[str, float]], stmts: list[Statement]) -> Statement | None:
    """An abnormal-rhythm statement when the rhythm model rates "other rhythm" above normal sinus rhythm in
    any window and no statement already says the tracing is abnormal (the rules may have seen nothing)."""
    if any(s.abnormal for s in stmts):
        return None
    hits = [
        (i, p)
        for i, p in enumerate(window_probs)
        if p.get("O", 0.0) > p.get("N", 0.0) and p.get("O", 0.0) >= p.get("A", 0.0)
    ]
    if not hits:
        return None
    i, p = max(hits, key=lambda h: h[1].get("O", 0.0))
    return Statement(
        "abnormal_rhythm",
        "Abnormal rhythm, not further classified",
        {
            "p_other_rhythm": round(p.get("O", 0.0), 3),
            "p_normal_sinus": round(p.get("N", 0.0), 3),
            "windows": len(hits),
            "rule": "rhythm model: P(other rhythm) > P(normal sinus rhythm)",
        },
        location={"window": i} if len(window_probs) > 1 else {},
    )


def unconfirmed_ectopy_statement(calls: EctopyCalls, window_probs: list[dict[str, float]]) -> Statement | None:
    """A note, not a finding, for ectopic-looking beats the rhythm model did not confirm (see ectopy.py): the
    reviewer sees them marked on the tracing and decides."""
    if not (calls.unconfirmed_v or calls.unconfirmed_s):
        return None
    p_n = [p.get("N", 0.0) for p in window_probs if rates_normal(p)]
    return Statement(
        "ectopy_unconfirmed",
        "Beats of unusual shape or timing, not confirmed as ectopic (rhythm read as normal sinus rhythm)",
        {
            "v_calls": calls.unconfirmed_v,
            "s_calls": calls.unconfirmed_s,
            "p_normal_sinus": round(min(p_n), 3) if p_n else None,
            "rule": "single-beat V/S calls in a span the rhythm model rates normal sinus rhythm (or noise) are "
            "not stated as PVCs/PACs; a run of >= 3 wide V beats >= 100 /min faster than the rhythm before it "
            "is, unless the model rates the span normal sinus rhythm with P >= 0.6",
        },
        abnormal=False,
    )


def noisy_vt_statement(calls: EctopyCalls) -> Statement | None:
    """Fast V runs left unconfirmed because muscle noise covers them (see ectopy.py): not stated as VT, but
    abnormal and urgent, so that a person looks at the tracing soon (a real VT under noise is not dismissed)."""
    if not calls.noisy_vt_runs:
        return None
    start, end, beats = max(calls.noisy_vt_runs, key=lambda run: run[2])
    return Statement(
        "vt_unconfirmed",
        "Fast run(s) of ventricular-looking beats in muscle noise, not confirmed as ventricular tachycardia: "
        "artefact or VT, check the tracing",
        {
            "runs": len(calls.noisy_vt_runs),
            "longest_run_beats": beats,
            "runs_at_s": [round(run[0], 1) for run in calls.noisy_vt_runs],
            "rule": f">= 3 V beats >= 100 /min in a stretch where power above {qc.HF_EDGE_HZ:g} Hz is >= "
            f"{qc.MUSCLE_NOISE_RATIO:g} of that in 1-{qc.HF_EDGE_HZ:g} Hz (RMS) on every usable lead",
        },
        location={"start_s": round(start, 3), "end_s": round(end, 3)},
    )


def urgency(statements: list[Statement], usable: bool) -> Urgency:
    if any(s.critical for s in statements):
        return Urgency.CRITICAL
    urgent = {"af", "afl", "svt", "ivr", "pause", "lbbb", "vt_unconfirmed"}
    if any(s.key in urgent for s in statements):
        return Urgency.URGENT
    if any(s.key == "long_qt" and (s.criteria.get("qtc_ms") or 0) >= 500 for s in statements):
        return Urgency.URGENT
    return Urgency.ROUTINE


def beat_summary(labels: list[str]) -> dict[str, int]:
    return {c: int(np.sum(np.array(labels) == c)) for c in "NSVFQ"} if labels else {c: 0 for c in "NSVFQ"}
