"""The ECG analyzer: read -> QRS -> QC -> delineation -> beat classes -> rhythm -> measurements -> statements.

The learned beat classifier and rhythm model are used when their modules load; otherwise rule-based
stand-ins run, and the findings JSON says which one produced the result (`models`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.base import (
    AnalysisResult,
    AnalyzerError,
    ExamContext,
    Finding,
    ModelCard,
    QualityVerdict,
    Urgency,
)
from dualsign.analyzers.ecg import ectopy, flutter, qc, rules
from dualsign.analyzers.ecg import model_card as mc
from dualsign.analyzers.ecg.delineate import delineate, prepare
from dualsign.analyzers.ecg.detect import detect_qrs
from dualsign.analyzers.ecg.fastmedian import centred
from dualsign.analyzers.ecg.measure import measurements, median_beat
from dualsign.analyzers.ecg.read import ECGRecord, read_ecg, sniff_format
from dualsign.analyzers.ecg.rhythm import Episode, af_windows, afl_windows, analysis_spans, episodes
from dualsign.analyzers.ecg.rhythm_model import Bands, record_bands, rhythm_probabilities, span_probabilities
from dualsign.analyzers.ecg.statements import (
    Statement,
    beat_summary,
    interpret,
    noisy_vt_statement,
    rhythm_model_statement,
    unconfirmed_ectopy_statement,
    urgency,
)

# 0.2.0: the axis of RBBB from its initial forces (BENCHMARKS.md, 2026-12-03), and every change since 0.1.0
VERSION = "0.2.0"
DISCLAIMER = "AI preliminary report — not valid until signed by a physician"
SCHEMA_VERSION = "1"
NOISE_REASON = (
    "rhythm not classifiable: noise (the rhythm model rates noise most probable, P {p:.2f}); record again with "
    "the patient still and relaxed and the electrodes in firm contact"
)
NOISE_RUN_NOTE = (
    "; it holds a fast wide-complex run (>= 3 beats >= 100 /min) that may be artefact or ventricular "
    "tachycardia: repeat the recording now"
)

BeatFn = Callable[
    [np.ndarray, float, list[str], np.ndarray, np.ndarray, np.ndarray | None], tuple[list[str], np.ndarray]
]
RhythmFn = Callable[[np.ndarray, float, list[str], np.ndarray, list[str], Bands | None], dict[str, float]]


def noise_reason(p: dict[str, float], labels: list[str], r: np.ndarray, fs: float, qrs_ms: np.ndarray) -> str:
    """Why a strip the rhythm model rates noise is not interpreted. A fast wide run in the noise may be artefact
    or VT; no one can tell from this strip, so then the retake is asked for at once, not in the routine queue."""
    in_noise = ectopy.confirm(labels, r, fs, np.zeros(r.size, bool), qrs_ms, noise_span=np.ones(r.size, bool))
    return NOISE_REASON.format(p=p.get("~", 0.0)) + (NOISE_RUN_NOTE if "V" in in_noise.labels else "")


def _load_learned() -> tuple[BeatFn | None, RhythmFn | None, dict[str, Any] | None, str]:
    """The learned models when their weights match card.json; otherwise the rule-based path is in charge."""
    card = mc.load_card()
    hashes = mc.file_hashes()
    if not mc.verified(card, hashes):
        return None, None, None, mc.combined_sha256({})
    beat_fn: BeatFn | None = None
    rhythm_fn: RhythmFn | None = None
    try:
        from dualsign.analyzers.ecg.beat_classes import classify_beats

        beat_fn = classify_beats
    except Exception:
        beat_fn = None
    try:
        from dualsign.analyzers.ecg.rhythm_model import rhythm_probabilities

        rhythm_fn = rhythm_probabilities
    except Exception:
        rhythm_fn = None
    return beat_fn, rhythm_fn, card, mc.combined_sha256(hashes)


def _card(weights_sha: str, card: dict[str, Any] | None) -> ModelCard:
    return ModelCard(
        name="dualsign-ecg",
        version=VERSION,
        modality="ecg",
        intended_use=(
            "Preliminary reading of resting 12-lead ECGs, rhythm strips and longer recordings for "
            "review and signature by a licensed physician; not for unsupervised diagnosis."
        ),
        training_data=(
            mc.training_data(card)
            if card is not None
            else "Rule-based only (learned weights missing or not matching card.json); weights_sha256 is the "
            "sha256 of the empty weight set."
        ),
        accuracy=(
            mc.accuracy(card)
            if card is not None
            else {
                "see": "BENCHMARKS.md and benchmarks/ecg_*_eval.py (rule-based path)",
                **mc.delineation(mc.load_card()),
            }
        ),
        weights_sha256=weights_sha,
        limitations=(
            "Adults only; sex-specific criteria use the sex-neutral / safer threshold; no 2nd/3rd-degree "
            "AV block, pacing or infarct-pattern statements yet; atrial flutter (AFL) is detected from regular "
            "flutter waves after QRS cancellation where T-Q spans show them (4:1 or variable conduction; 2:1 and "
            "fast 3:1 flutter are missed) and its sensitivity on real flutter has not been measured (no labelled "
            "flutter signal in the developer data); fusion (F) beats are not recognised by the beat model; "
            "paced beats (Q) are recognised from the pacemaker stimulus spike before a wide QRS (developed on one "
            "paced record, MIT-BIH 104; checked on QT Database sel102, 15 min of another paced record at 250 Hz), "
            "not where the spike is too small to stand out of the baseline; P-onset, QRS-onset and QRS-offset "
            "times scatter more, beat to beat, against a QT Database cardiologist's marks than the CSE "
            "tolerances allow (accuracy.delineation; two cardiologists differ by more still), so PR, QRS and QT "
            "carry that uncertainty and are confirmed by the physician on the tracing."
        ),
    )


class ECGAnalyzer:
    modality = "ecg"

    def __init__(self) -> None:
        self._beat_fn, self._rhythm_fn, card, sha = _load_learned()
        self.card = _card(sha, card)

    # ---------------------------------------------------------------------------------------- protocol
    def can_read(self, path: Path) -> bool:
        fmt = sniff_format(Path(path))
        if fmt == "aecg":
            try:
                with Path(path).open("rb") as fh:
                    return b"AnnotatedECG" in fh.read(4096)
            except OSError:
                return False
        if fmt == "dicom":
            try:
                import pydicom

                ds = pydicom.dcmread(
                    str(path), stop_before_pixels=True, specific_tags=["WaveformSequence", "Modality"]
                )
                return "WaveformSequence" in ds or str(getattr(ds, "Modality", "")) == "ECG"
            except Exception:
                return False
        return fmt is not None

    def analyze(self, paths: Sequence[Path], context: ExamContext | None = None) -> AnalysisResult:
        if not paths:
            raise AnalyzerError("no input file given")
        rec = read_ecg(paths[0])
        return self.analyze_record(rec)

    # ---------------------------------------------------------------------------------------- pipeline
    def _classify(
        self, x: np.ndarray, xf: np.ndarray, fs: float, names: list[str], r: np.ndarray, qrs_ms: np.ndarray,
        p_present: np.ndarray,
    ) -> tuple[list[str], str]:
        if self._beat_fn is not None and r.size:
            try:
                labels, _ = self._beat_fn(x, fs, names, r, p_present, xf)
                if len(labels) == r.size:
                    return [str(s) for s in labels], "learned"
            except Exception:
                pass
        labels, _ = rules.rule_beat_classes(r, fs, qrs_ms)
        return labels, "rules"

    def analyze_record(self, rec: ECGRecord) -> AnalysisResult:
        fs, names = rec.fs, rec.lead_names
        x, x_median = centred(rec.signal)  # x - x_median: what the detector works on
        r = detect_qrs(x, fs, x_median)
        xf = prepare(x, fs)
        quality, corr = qc.assess(x, xf, fs, names, r)
        lead_ok = quality.lead_ok
        b = delineate(xf, fs, r, lead_ok)
        qrs_ms = np.where(b.qrs_on >= 0, (b.qrs_off - b.qrs_on) * 1000.0 / fs, 0.0)
        # xf (delineation's 0.5-40 Hz band-pass) is the very filter the beat and rhythm models cut windows from
        labels, beat_src = self._classify(x, xf, fs, names, r, qrs_ms, b.p_present)
        rhythm_src = "rules"
        window_probs: list[dict[str, float]] = []
        if quality.usable and r.size >= 3:
            lab_arr = np.array(labels)
            rr_all = np.diff(r) / fs
            bands = record_bands(x, fs, names, xf) if self._rhythm_fn is not None else None
            # The shipped model scores all spans at once (the same probabilities as span by span).
            batched: dict[tuple[int, int], dict[str, float] | None] | None = None
            if self._rhythm_fn is rhythm_probabilities and bands is not None:
                spans = analysis_spans(rec.n_samples, fs)
                try:
                    batched = dict(zip(spans, span_probabilities(x, fs, names, r, labels, bands, spans), strict=True))
                except Exception:
                    batched = None

            def probs_for(a: int, z: int) -> dict[str, float]:
                nonlocal rhythm_src
                sel = (r >= a) & (r < z)
                if batched is not None:
                    p_span = batched.get((a, z))
                    if p_span is not None:
                        rhythm_src = "learned"
                        return dict(p_span)
                elif self._rhythm_fn is not None:
                    try:
                        window_bands = (bands[0][a:z], bands[1][a:z]) if bands is not None else None
                        p = self._rhythm_fn(x[a:z], fs, names, r[sel] - a, [str(v) for v in lab_arr[sel]],
                                            window_bands)
                        rhythm_src = "learned"
                        return {k: float(v) for k, v in p.items()}
                    except Exception:
                        pass
                # Irregularity of N-to-N intervals only, so ectopic beats (bigeminy) do not look like AF. A
                # beat unlike the dominant QRS counts as ectopic even when the rule classifier kept it N.
                rs = r[sel]
                ls = np.where(corr[sel] >= 0.8, lab_arr[sel], "X")
                nn = (ls[1:] == "N") & (ls[:-1] == "N")
                rr_w = np.diff(rs) / fs
                rr_w = rr_w[nn] if np.count_nonzero(nn) >= 4 else rr_w
                p_frac = float(np.mean(b.p_present[sel])) if np.any(sel) else 0.0
                return rules.rule_rhythm_probabilities(rr_w, p_frac, True)

            af, window_probs = af_windows(rec.n_samples, fs, r, probs_for)
            # A strip the rhythm model rates noise ("~" its most probable class) has no rhythm anyone could
            # state from it: the beat classifier's V calls there are artefact bursts read as beats. Reject it
            # with a reason the technologist can act on (a retake), rather than report ectopy from noise. Only a
            # record judged as one span (<= 90 s: the strips the model was trained on); in a long record one
            # noisy window does not make the rest unreadable.
            if rhythm_src == "learned" and len(window_probs) == 1 and ectopy.rates_noise(window_probs[0]):
                quality = qc.reject(quality, noise_reason(window_probs[0], labels, r, fs, qrs_ms))
        if quality.usable and r.size >= 3:
            # QRS like the template: conducted beats, premature (S) ones included: in flutter with variable
            # conduction the classifier often calls the early-conducted beats S
            dominant = (lab_arr != "V") & (corr >= 0.8)
            fl_names, fl_leads = flutter.band_leads(x, fs, names, lead_ok)

            def flutter_for(a: int, z: int) -> flutter.FlutterMeasure | None:
                sel = (r >= a) & (r < z)
                return flutter.measure(fl_leads[a:z], fs, fl_names, r[sel] - a, dominant[sel])

            afl, afl_measures = afl_windows(rec.n_samples, fs, r, flutter_for)
            noisy = corr < 0.3 if rec.duration_s > 90 else np.zeros(r.size, bool)
            normal_span = np.zeros(r.size, dtype=bool)
            sure_normal = np.zeros(r.size, dtype=bool)
            noise_span = np.zeros(r.size, dtype=bool)
            if rhythm_src == "learned":  # the rule stand-in is no second reader
                for (a, z), p in zip(analysis_spans(rec.n_samples, fs), window_probs, strict=True):
                    in_span = (r >= a) & (r < z)
                    normal_span[in_span] = ectopy.rates_normal(p)
                    sure_normal[in_span] = ectopy.rates_confidently_normal(p)
                    noise_span[in_span] = ectopy.rates_noise(p)
            # V runs in a stretch covered by muscle noise: detections in the noise, shapes lost (see ectopy.py)
            in_noise = qc.muscle_noise_runs(x, fs, r, ectopy.v_runs(labels), lead_ok)
            calls = ectopy.confirm(labels, r, fs, normal_span, qrs_ms, sure_normal, noise_span, in_noise)
            eps = episodes(r, fs, rec.n_samples, calls.labels, af, b.p_present, noisy, afl, normal_span)
            use = (lab_arr == "N") & (corr > 0.6)
            mb = median_beat(xf, fs, r, use, lead_ok, x)
            meas = measurements(mb, fs, names, r, lab_arr == "N", lead_ok)
            meas["rr_irregularity"] = round(rules.rr_irregularity(rr_all), 3)
            meas["p_wave_fraction"] = round(float(np.mean(b.p_present)), 2)
            stmts = interpret(meas, eps, calls.labels, names, mb, fs, rec.duration_s, afl_measures)
            for note in (noisy_vt_statement(calls), unconfirmed_ectopy_statement(calls, window_probs)):
                if note is not None:
                    stmts.append(note)
            extra = rhythm_model_statement(window_probs, stmts) if rhythm_src == "learned" else None
            if extra is not None:  # "Normal ECG" no longer holds
                stmts = [s for s in stmts if s.key != "normal"] + [extra]
        else:
            calls = None
            eps = [Episode("NOISE", 0.0, rec.duration_s, int(r.size))]
            meas = measurements(None, fs, names, np.zeros(0, np.int64), np.zeros(0, bool), lead_ok)
            stmts = []
        urg = urgency(stmts, quality.usable)
        return self._result(
            rec,
            quality,
            r,
            labels,
            b,
            eps,
            meas,
            stmts,
            urg,
            window_probs,
            {"beat_classifier": beat_src, "rhythm_model": rhythm_src},
            None if calls is None else calls.confirmed,
        )

    # ---------------------------------------------------------------------------------------- output
    def _result(
        self,
        rec: ECGRecord,
        quality: qc.QualityReport,
        r: np.ndarray,
        labels: list[str],
        b: Any,
        eps: list[Episode],
        meas: dict[str, Any],
        stmts: list[Statement],
        urg: Urgency,
        window_probs: list[dict[str, float]],
        models: dict[str, str],
        confirmed: np.ndarray | None = None,
    ) -> AnalysisResult:
        cols = {k: [v if v >= 0 else None for v in np.asarray(getattr(b, k)).tolist()]
                for k in ("p_on", "p_off", "qrs_on", "qrs_off", "t_off")}
        beats = [
            {
                "sample": s,
                "aami": labels[i],
                "p_on": cols["p_on"][i],
                "p_off": cols["p_off"][i],
                "qrs_on": cols["qrs_on"][i],
                "qrs_off": cols["qrs_off"][i],
                "t_off": cols["t_off"][i],
                # V/S calls the interpretation states (False: marked, listed as not confirmed; see ectopy.py)
                "ectopy_confirmed": (bool(confirmed[i]) if confirmed is not None else True)
                if labels[i] in ("V", "S") else None,
            }
            for i, s in enumerate(np.asarray(r).tolist())
        ]
        summary = self._summary(rec, quality, meas, stmts)
        q = {
            "usable": quality.usable,
            "reasons": quality.reasons,
            "warnings": quality.warnings,
            "leads": [
                {
                    "lead": lq.lead,
                    "usable": lq.usable,
                    "problems": lq.problems,
                    "qrs_to_noise": round(lq.snr, 1),
                }
                for lq in quality.leads
            ],
            "beat_consistency": round(quality.beat_consistency, 2),
        }
        raw: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "path": rec.path,
            "format": rec.source_format,
            "fs_hz": rec.fs,
            "n_samples": rec.n_samples,
            "duration_s": round(rec.duration_s, 3),
            "leads": rec.lead_names,
            "quality": q,
            "beats": beats,
            "beat_counts": beat_summary(labels),
            "rhythm": [e.to_dict() for e in eps],
            "rhythm_probabilities": window_probs[0] if len(window_probs) == 1 else window_probs,
            "measurements": meas,
            "statements": [s.to_dict() for s in stmts],
            "urgency": urg.value,
            "summary": summary,
            "models": models,
            "model_card": self.card.to_dict(),
        }
        findings = [
            Finding(
                kind="statement",
                label=s.text,
                code=f"SCT:{s.code}" if s.code else None,
                location=s.location,
                measurements=s.criteria,
                abnormal=s.abnormal,
                critical=s.critical,
            )
            for s in stmts
        ]
        if not quality.usable:
            findings.append(
                Finding(
                    kind="quality",
                    label="ECG not interpretable: " + "; ".join(quality.reasons),
                    measurements={"reasons": quality.reasons},
                    abnormal=True,
                )
            )
        report = {
            "title": "ECG — AI preliminary report",
            "recording": {
                "format": rec.source_format,
                "leads": rec.lead_names,
                "fs_hz": rec.fs,
                "duration_s": round(rec.duration_s, 1),
            },
            "quality": {"usable": quality.usable, "reasons": quality.reasons, "warnings": quality.warnings},
            "measurements": _table(meas),
            "rhythm": [e.to_dict() for e in eps],
            "statements": [
                {
                    "text": s.text,
                    "code": f"SCT:{s.code}" if s.code else None,
                    "criteria": s.criteria,
                    "abnormal": s.abnormal,
                    "critical": s.critical,
                }
                for s in stmts
            ],
            "impression": summary,
            "urgency": urg.value,
            "disclaimer": DISCLAIMER,
        }
        verdict = QualityVerdict(
            quality.usable, list(quality.reasons), {"warnings": quality.warnings, "leads": q["leads"]}
        )
        return AnalysisResult(verdict, findings, summary, urg, report, raw)

    @staticmethod
    def _summary(
        rec: ECGRecord, quality: qc.QualityReport, meas: dict[str, Any], stmts: list[Statement]
    ) -> str:
        head = f"ECG {len(rec.lead_names)}-lead {rec.duration_s:.0f} s"
        if not quality.usable:
            return f"{head}: not interpretable — " + "; ".join(quality.reasons)
        hr = meas.get("hr_bpm")
        crit = [s.text for s in stmts if s.critical]
        texts = ", ".join(s.text for s in stmts) or "no statement"
        rate = f"; HR {hr:.0f}/min" if isinstance(hr, float) and math.isfinite(hr) else ""
        return f"{head}: {'CRITICAL: ' if crit else ''}{texts}{rate}"


def _table(meas: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        ("Heart rate", "hr_bpm", "/min"),
        ("RR mean", "rr_mean_ms", "ms"),
        ("RR SD", "rr_sd_ms", "ms"),
        ("PR", "pr_ms", "ms"),
        ("QRS", "qrs_ms", "ms"),
        ("QT", "qt_ms", "ms"),
        ("QTc (Bazett)", "qtc_bazett_ms", "ms"),
        ("QTc (Fridericia)", "qtc_fridericia_ms", "ms"),
        ("P axis", "p_axis_deg", "°"),
        ("QRS axis", "qrs_axis_deg", "°"),
        ("T axis", "t_axis_deg", "°"),
    ]
    return [{"name": n, "value": meas.get(k), "unit": u} for n, k, u in rows]
