"""Signal quality per lead and an overall verdict with reasons the technologist can act on.

Checks (per lead): flat line / lead off, saturation (clipping), baseline wander, powerline interference and
muscle noise (high-frequency residue against the QRS amplitude); overall: too short, no usable lead, too
few beats, beats that do not repeat (noise detected as beats). Only problems that make the ECG
uninterpretable reject it; the others are reported as warnings, because the pipeline filters them out.
Per stretch: muscle noise around a run of beats (`muscle_noise_runs`), so that beats detected in a burst of
noise are not stated as ventricular runs (see ectopy.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt

MIN_ANALYSIS_S = 5.0
# Muscle noise in a stretch: RMS above HF_EDGE_HZ (mains bands left out) against RMS in 1 Hz-HF_EDGE_HZ. The heart's
# activity, ventricular tachycardia included (wide, slowly rising complexes), keeps nearly all its power below
# 40 Hz, so a run of real beats lowers this ratio; skeletal-muscle (EMG) noise spreads over 20-250 Hz and raises
# it. MIT-BIH (development figures: the threshold was set while looking at them): the stretches of the V runs of
# 106 and 223 (ten true VT / ventricular runs) 0.01-0.08 on every lead; around ordinary beats 0.02-0.22 (10th-90th
# percentile per record, the highest in paced 104); the V runs the beat classifier finds in muscle-noise bursts
# of 104 and 108 0.18-0.49 on both leads.
HF_EDGE_HZ = 40.0
# Mains interference and its harmonics (50 or 60 Hz, up to the 4th) are not muscle noise: a hum must not turn a
# real VT into an unconfirmed one.
MAINS_BANDS_HZ = tuple((k * base - 2.0, k * base + 2.0) for base in (50.0, 60.0) for k in range(1, 5))
MUSCLE_NOISE_RATIO = 0.15
STRETCH_PAD_S = 0.5


@dataclass
class LeadQuality:
    lead: str
    usable: bool
    problems: list[str] = field(default_factory=list)
    snr: float = 0.0


@dataclass
class QualityReport:
    usable: bool
    reasons: list[str]
    warnings: list[str]
    leads: list[LeadQuality]
    beat_consistency: float

    @property
    def lead_ok(self) -> np.ndarray:
        return np.array([lq.usable for lq in self.leads], dtype=bool)


def _psd(col: np.ndarray, fs: float, max_segments: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Averaged Hann-windowed periodogram of 2-s segments (one batched FFT; at most 60 segments, spread
    over the record: enough to see mains interference, and cheap on 30-min records)."""
    nper = min(col.size, int(2 * fs))
    nseg = col.size // nper
    starts = np.linspace(0, col.size - nper, min(nseg, max_segments)).astype(int)
    seg = col[starts[:, None] + np.arange(nper)[None, :]]
    seg = (seg - seg.mean(axis=1, keepdims=True)) * np.hanning(nper)
    p = np.mean(np.abs(np.fft.rfft(seg, axis=1)) ** 2, axis=0)
    return np.fft.rfftfreq(nper, 1.0 / fs), p


def _mean0(x: np.ndarray) -> np.ndarray:
    """x.mean(axis=0). numpy adds the rows of a C-contiguous samples x leads array (two leads or more) one after
    the other, in an inner loop as short as the lead count; a cumulative sum down the columns adds them in the
    same order in long inner loops (2-3x faster on a 30-min record). One lead (summed pairwise by numpy) and
    other layouts: x.mean itself."""
    if x.ndim == 2 and x.shape[1] >= 2 and x.shape[0] >= 1 and x.flags.c_contiguous and x.dtype == np.float64:
        return np.asarray(np.cumsum(x, axis=0)[-1] / x.shape[0])
    return np.asarray(x.mean(axis=0))


def lead_quality(
    x: np.ndarray, xf: np.ndarray, fs: float, names: list[str], r: np.ndarray
) -> list[LeadQuality]:
    """x: raw mV, xf: prepared (band-passed) copy, r: detected beats."""
    out: list[LeadQuality] = []
    n = x.shape[0]
    ms = fs / 1000.0
    sos_hf = signal.butter(2, min(20.0, 0.4 * fs), btype="highpass", fs=fs, output="sos")
    # One forward pass is enough: only the RMS of the residue is used, its phase does not matter.
    hf = signal.sosfilt(sos_hf, x, axis=0)
    qrs_mask = np.zeros(n, dtype=bool)
    if r.size:
        w = np.arange(-int(80 * ms), int(80 * ms) + 1)
        qrs_mask[np.clip(r[:, None] + w[None, :], 0, n - 1).ravel()] = True
    quiet = ~qrs_mask  # the samples the noise RMS is taken over
    # Wander (< 0.5 Hz) is judged at ~25 Hz: decimating first makes the filter 10-20x cheaper.
    step = max(1, int(fs // 25))
    sos_lw = signal.butter(1, 0.5, btype="lowpass", fs=fs / step, output="sos")
    wander = sosfiltfilt(sos_lw, x[::step] - _mean0(x))
    for j, name in enumerate(names):
        lq = LeadQuality(name, True)
        col = x[:, j]
        sec = max(1, int(fs))
        nwin = n // sec
        stds = col[: nwin * sec].reshape(nwin, sec).std(axis=1) if nwin else np.array([col.std()])
        if np.ptp(col) < 0.02 or np.mean(stds < 0.003) > 0.5:
            lq.usable = False
            lq.problems.append("flat line / lead off")
            out.append(lq)
            continue
        lo, hi = col.min(), col.max()
        clipped = np.mean((col <= lo + 1e-9) | (col >= hi - 1e-9))
        if clipped > 0.05:
            lq.usable = False
            lq.problems.append(f"saturation ({100 * clipped:.0f} % of samples clipped)")
        elif clipped > 0.01:
            lq.problems.append(f"partial saturation ({100 * clipped:.1f} % clipped)")
        if np.ptp(wander[:, j]) > 2.0:
            lq.problems.append("baseline wander")
        if fs >= 125:
            f, p = _psd(col, fs)
            band = p[(f >= 1) & (f <= 40)].sum() + 1e-18
            mains = p[((f >= 49) & (f <= 51)) | ((f >= 59) & (f <= 61))].sum()
            if mains / band > 0.2:
                lq.problems.append("powerline interference")
        if r.size >= 2:
            qidx = np.clip(r[:, None] + np.arange(-int(60 * ms), int(60 * ms) + 1)[None, :], 0, n - 1)
            amp = float(median0(np.ptp(gather.at(xf[:, j], qidx), axis=1)))
            noise = float(np.sqrt(np.mean(gather.masked(hf[:, j], quiet) ** 2))) if quiet.any() else 0.0
            lq.snr = amp / max(noise, 1e-6)
            if lq.snr < 2.0:
                lq.usable = False
                lq.problems.append(f"muscle / high-frequency noise (QRS-to-noise ratio {lq.snr:.1f})")
            elif lq.snr < 5.0:
                lq.problems.append(f"muscle noise (QRS-to-noise ratio {lq.snr:.1f})")
        out.append(lq)
    return out


def beat_correlations(xf: np.ndarray, fs: float, r: np.ndarray, lead: int) -> np.ndarray:
    """Correlation of each beat's QRS (+-100 ms) with the median beat on one lead."""
    if r.size < 2:
        return np.zeros(r.size)
    ms = fs / 1000.0
    w = np.arange(-int(100 * ms), int(100 * ms) + 1)
    idx = np.clip(r[:, None] + w[None, :], 0, xf.shape[0] - 1)
    beats = gather.at(xf[:, lead], idx)
    beats = beats - beats.mean(axis=1, keepdims=True)
    tpl = median0(beats)
    num = beats @ tpl
    den = np.linalg.norm(beats, axis=1) * np.linalg.norm(tpl) + 1e-12
    return np.asarray(num / den)


def assess(
    x: np.ndarray, xf: np.ndarray, fs: float, names: list[str], r: np.ndarray
) -> tuple[QualityReport, np.ndarray]:
    """Overall verdict; also returns per-beat template correlation on the best lead."""
    leads = lead_quality(x, xf, fs, names, r)
    reasons: list[str] = []
    warnings = [f"{lq.lead}: {p}" for lq in leads for p in lq.problems if lq.usable]
    dur = x.shape[0] / fs
    if dur < MIN_ANALYSIS_S:
        reasons.append(f"recording too short ({dur:.1f} s; at least {MIN_ANALYSIS_S:g} s needed)")
    ok = [i for i, lq in enumerate(leads) if lq.usable]
    if not ok:
        reasons.append("no usable lead: " + "; ".join(f"{lq.lead}: {', '.join(lq.problems)}" for lq in leads))
    corr = np.zeros(r.size)
    consistency = 0.0
    if r.size < max(3, int(dur / 6)):
        reasons.append(f"too few heartbeats detected ({r.size} in {dur:.0f} s)")
    elif ok:
        best = max(ok, key=lambda i: leads[i].snr)
        corr = beat_correlations(xf, fs, r, best)
        consistency = float(np.mean(corr > 0.6))
        if consistency < 0.4:
            reasons.append(
                f"heartbeats not consistently recognisable ({100 * consistency:.0f} % of detected "
                f"beats match the dominant beat): too noisy to interpret"
            )
    return QualityReport(not reasons, reasons, warnings, leads, consistency), corr


def hf_ratio(seg: np.ndarray, fs: float) -> np.ndarray:
    """Per lead of seg (n_samples, n_leads): RMS above HF_EDGE_HZ (mains bands left out) over RMS in
    1 Hz-HF_EDGE_HZ, from one Hann-windowed periodogram; 0 where fs leaves no band above HF_EDGE_HZ."""
    f = np.fft.rfftfreq(seg.shape[0], 1.0 / fs)
    hi = f > HF_EDGE_HZ
    for lo_hz, hi_hz in MAINS_BANDS_HZ:
        hi &= (f < lo_hz) | (f > hi_hz)
    if seg.shape[0] < 8 or not hi.any():
        return np.zeros(seg.shape[1])
    y = (seg - seg.mean(axis=0)) * np.hanning(seg.shape[0])[:, None]
    p = np.abs(np.fft.rfft(y, axis=0)) ** 2
    band = p[(f >= 1.0) & (f <= HF_EDGE_HZ)].sum(axis=0)
    return np.asarray(np.sqrt(p[hi].sum(axis=0) / np.maximum(band, 1e-18)))


def muscle_noise_runs(
    x: np.ndarray, fs: float, r: np.ndarray, runs: list[tuple[int, int]], lead_ok: np.ndarray
) -> np.ndarray:
    """Per beat: part of one of `runs` ([first, last] beat indices) whose stretch, from STRETCH_PAD_S before its
    first beat to STRETCH_PAD_S after its last, has hf_ratio >= MUSCLE_NOISE_RATIO on every usable lead."""
    out = np.zeros(r.size, dtype=bool)
    sig = x if x.ndim == 2 else x[:, None]
    ok = np.asarray(lead_ok, dtype=bool)
    if not ok.any():
        return out
    pad = int(STRETCH_PAD_S * fs)
    for a, b in runs:
        seg = sig[max(0, int(r[a]) - pad) : min(sig.shape[0], int(r[b]) + pad), ok]
        if bool(np.all(hf_ratio(seg, fs) >= MUSCLE_NOISE_RATIO)):
            out[a : b + 1] = True
    return out


def reject(report: QualityReport, reason: str) -> QualityReport:
    """The same report, not usable, with one more reason (a verdict reached after QC, e.g. by the rhythm model)."""
    return QualityReport(False, [*report.reasons, reason], report.warnings, report.leads, report.beat_consistency)
