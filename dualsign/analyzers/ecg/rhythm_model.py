"""Rhythm class probabilities (CinC 2017 classes: N normal sinus, A atrial fibrillation, O other, ~ noisy).

A small gradient-boosted tree model (ONNX) over one feature vector per recording:
  * RR irregularity (AF is "irregularly irregular": high successive-difference spread, sample entropy,
    Poincare SD1/SD2 and sign-change rate, even after ectopic beats are discounted),
  * atrial activity: P-wave presence and consistency in the median beat, and fibrillatory (4-9 Hz) power in
    the T-Q intervals,
  * ectopy from the beat classifier (V and S fractions) and morphology spread (beat-to-template correlation),
  * signal quality (physiologically implausible intervals, residual after template removal, spectrum shape).
Features are computed on one lead: lead I when present (what the training recordings resemble), otherwise the
beat classifier's primary lead.

A small 1-D CNN (ONNX) reads the same lead's 0.5-40 Hz signal directly (resampled to CNN_FS, amplitude-scaled per
recording) and its probabilities are averaged with the feature model's, 0.5/0.5: the features describe RR timing
and the median beat well, the network sees the waveform beat by beat (fibrillatory waves, intermittent changes).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import signal as sps

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt
from dualsign.analyzers.ecg.spectrum import segment_density, welch

RHYTHM_CLASSES: tuple[str, ...] = ("N", "A", "O", "~")
RHYTHM_MODEL = "rhythm.onnx"
CNN_MODEL = "rhythm_cnn.onnx"
CNN_FS = 100.0  # Hz: fibrillatory waves (4-9 Hz) and QRS timing survive; a 30-s window is 3000 samples
CNN_CLIP = 8.0  # in units of the recording's typical beat amplitude: artefact spikes do not dominate
CNN_MIN_S = 3.0  # shorter excerpts: the feature model alone
CNN_WEIGHT = 0.5  # fixed, not tuned on held-out folds

FEATURES: tuple[str, ...] = (
    "duration_s", "n_beats", "hr_bpm", "rr_median", "rr_cv", "rmssd_rel", "pnn50", "pdd10", "pdd20",
    "mad_dd_rel", "sd1_rel", "sd1_sd2", "sampen", "cosen", "tpr", "sign_change", "max_rr_rel", "min_rr_rel",
    "irreg_no_ectopy", "frac_v", "frac_s", "frac_bad_rr", "max_gap_rel", "corr_mean", "corr_p10", "corr_frac_lo",
    "p_amp_rel", "p_corr_mean", "f_power_rel", "f_band_frac", "qrs_width_ms", "qrs_amp_mv", "amp_cv",
    "resid_rel", "psqi", "baseline_frac", "kurtosis", "hist_dd_occupancy",
)


@functools.lru_cache(maxsize=16)
def _filters(fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ny = 0.45 * fs
    broad = sps.butter(2, [0.5, min(40.0, ny)], btype="bandpass", fs=fs, output="sos")
    fband = sps.butter(2, [4.0, min(9.0, ny)], btype="bandpass", fs=fs, output="sos")
    qrs = sps.butter(2, [5.0, min(15.0, ny)], btype="bandpass", fs=fs, output="sos")
    return broad, fband, qrs


def _sampen(x: np.ndarray, r: float) -> float:
    """Sample entropy (m=1) of a short series; the AF literature's COSEn builds on it."""
    n = x.size
    if n < 5:
        return 0.0
    d1 = np.abs(x[:-1, None] - x[None, :-1])
    pairs = np.column_stack([x[:-1], x[1:]])
    d2 = np.maximum(np.abs(pairs[:, None, 0] - pairs[None, :, 0]), np.abs(pairs[:, None, 1] - pairs[None, :, 1]))
    b = (d1 <= r).sum() - (n - 1)
    a = (d2 <= r).sum() - (n - 1)
    if a <= 0 or b <= 0:
        return 2.5  # no matches: maximally irregular within this short record
    return float(-np.log(a / b))


def _mean_pow4(z: np.ndarray) -> float:
    """np.mean(z**4) as far as the float32 feature vector can tell: z**4 calls pow() per sample (most of this
    function's cost on a 30-s window); (z*z)**2 differs from it by a few ulp per sample, so the two means differ
    by far less than 1e-12 (relative). Where the float32 roundings of both ends of that interval agree, the
    float32 of z**4's mean is that value; otherwise (rarely) z**4 itself."""
    z2 = z * z
    m = float(np.mean(z2 * z2))
    if np.float32(m * (1.0 - 1e-12)) == np.float32(m * (1.0 + 1e-12)):
        return m
    return float(np.mean(z**4))


_DD_EDGES = np.linspace(-0.6, 0.6, 25)  # np.histogram's edges for bins=24, range=(-0.6, 0.6)


def _occupied_bins(v: np.ndarray) -> int:
    """Number of non-empty bins of np.histogram(v, bins=24, range=(-0.6, 0.6)) for v within the range.
    np.histogram's bin of a value is the one whose edges enclose it (its estimate is corrected against the same
    edges; the last bin holds its right edge), found here by one search instead of its general set-up."""
    return int(np.unique(np.minimum(np.searchsorted(_DD_EDGES, v, side="right") - 1, 23)).size)


def _spectrum_shape(fr: np.ndarray, pw: np.ndarray) -> tuple[float, float]:
    """(psqi, baseline_frac) from the 0.5-40 Hz rhythm lead's Welch spectrum."""
    tot = pw[(fr >= 0.5) & (fr <= 40)].sum() + 1e-12
    return float(pw[(fr >= 5) & (fr <= 15)].sum() / tot), float(pw[fr < 1.0].sum() / (pw.sum() + 1e-12))


def _span_signal_features(
    y: np.ndarray, fs: float, spans: list[tuple[int, int]]
) -> dict[tuple[int, int], tuple[float, float, float]]:
    """rhythm_features' (psqi, baseline_frac, kurtosis) of the spans of y (the record's rhythm-lead band)
    that have the first span's length and lie end to end from it (a long record's 30-s windows), all at once:
    each value from the same operations on the same samples as welch() and rhythm_features() span by span
    (row-wise reductions, FFTs row by row), so the same numbers; the other spans are left to rhythm_features."""
    a0, z0 = spans[0]
    n = z0 - a0
    run = 0
    while run < len(spans) and spans[run] == (a0 + run * n, a0 + (run + 1) * n):
        run += 1
    if run < 2 or n <= 64 or y.ndim != 1:
        return {}
    s0 = y.strides[0]
    rows = np.lib.stride_tricks.as_strided(y[a0:], shape=(run, n), strides=(n * s0, s0), writeable=False)
    nperseg = min(int(4 * fs), n)
    step = nperseg - nperseg // 2
    n_seg = 1 + (n - nperseg) // step
    segs = np.lib.stride_tricks.as_strided(
        y[a0:], shape=(run, n_seg, nperseg), strides=(n * s0, step * s0, s0), writeable=False
    )
    p = segment_density(segs, fs, 1)
    fr = np.fft.rfftfreq(nperseg, 1.0 / fs)
    z = (rows - rows.mean(axis=1, keepdims=True)) / (rows.std(axis=1, keepdims=True) + 1e-12)
    z2 = z * z
    m = np.mean(z2 * z2, axis=1)
    out = {}
    for i in range(run):
        k = float(m[i])  # _mean_pow4 of the row, with its float32 check
        if np.float32(k * (1.0 - 1e-12)) != np.float32(k * (1.0 + 1e-12)):
            k = float(np.mean(z[i] ** 4))
        out[spans[i]] = (*_spectrum_shape(fr, p[i]), k)
    return out


def _tq_mask(r: np.ndarray, fs: float, n: int) -> np.ndarray:
    """Samples between the end of each T wave (rate-dependent) and 120 ms before the next QRS."""
    a, b = r[:-1], r[1:]
    s0 = a + ((0.2 + 0.25 * (b - a) / fs) * fs).astype(np.int64)
    e0 = b - int(0.12 * fs)
    keep = (e0 - s0) > int(0.06 * fs)
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, s0[keep], 1)  # intervals never overlap: a running sum marks them
    np.add.at(edges, e0[keep], -1)
    return np.cumsum(edges[:n]) > 0


def _pick_lead(lead_names: list[str], n_leads: int) -> int:
    names = [n.upper() for n in lead_names[:n_leads]]
    if "I" in names:
        return names.index("I")
    return bc.pick_leads(lead_names, n_leads)[0]


Bands = tuple[np.ndarray, np.ndarray]


def record_bands(sig: np.ndarray, fs: float, lead_names: list[str], filtered: np.ndarray | None = None) -> Bands:
    """The rhythm lead's 0.5-40 Hz and 4-9 Hz band-passed signals over a whole record: a long record is
    judged in windows, and filtering it once costs a fraction of filtering every window.
    filtered: bc.bandpass() of every lead of sig when the caller has it already."""
    x = np.asarray(sig, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    j = _pick_lead(list(lead_names), x.shape[1])
    lead = x[:, j]
    _, fband, _ = _filters(float(fs))
    broad = filtered[:, j] if filtered is not None and filtered.shape == x.shape and lead.size > 30 else None
    return (bc.bandpass(lead, fs) if broad is None else broad), (
        sosfiltfilt(fband, lead) if lead.size > 30 else np.zeros(lead.size)
    )


def rhythm_features(
    sig: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, beat_labels: list[str],
    bands: Bands | None = None, signal_feats: tuple[float, float, float] | None = None,
) -> np.ndarray:
    """(len(FEATURES),) float32 feature vector of one recording.

    bands: record_bands() of exactly this signal (a window's slice of the whole record's). signal_feats:
    (psqi, baseline_frac, kurtosis) of this signal when the caller has them (_span_signal_features)."""
    x = np.asarray(sig, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    lead = x[:, _pick_lead(list(lead_names), x.shape[1])]
    n = lead.size
    dur = n / fs
    r = np.sort(np.asarray(r_peaks, dtype=np.int64))
    f = dict.fromkeys(FEATURES, 0.0)
    f["duration_s"] = dur
    f["n_beats"] = float(r.size)
    labels = np.asarray(beat_labels) if len(beat_labels) == r.size else np.full(r.size, "N")
    if r.size:
        f["frac_v"] = float(np.mean(labels == "V"))
        f["frac_s"] = float(np.mean(labels == "S"))
    y, fb = bands if bands is not None else record_bands(x, fs, lead_names)
    # Spectrum-shape quality (cheap, needs no beats).
    if n > 64:
        if signal_feats is None:
            z = (y - y.mean()) / (y.std() + 1e-12)
            signal_feats = (*_spectrum_shape(*welch(y, fs, int(4 * fs))), _mean_pow4(z))
        f["psqi"], f["baseline_frac"], f["kurtosis"] = signal_feats
    gaps = np.diff(np.concatenate([[0], r, [n]])) / fs
    f["max_gap_rel"] = float(gaps.max() / max(dur, 1e-3))
    if r.size < 4:
        return np.asarray([f[k] for k in FEATURES], dtype=np.float32)

    rr = np.diff(r) / fs
    med = float(median0(rr))
    dd = np.diff(rr)
    f["hr_bpm"] = 60.0 / med
    f["rr_median"] = med
    f["rr_cv"] = float(rr.std() / rr.mean())
    f["rmssd_rel"] = float(np.sqrt(np.mean(dd**2)) / med)
    f["pnn50"] = float(np.mean(np.abs(dd) > 0.05))
    f["pdd10"] = float(np.mean(np.abs(dd) > 0.1 * med))
    f["pdd20"] = float(np.mean(np.abs(dd) > 0.2 * med))
    f["mad_dd_rel"] = float(median0(np.abs(dd)) / med)
    sd1 = np.std(dd) / np.sqrt(2.0)
    sd2 = np.sqrt(max(2.0 * rr.var() - sd1**2, 1e-12))
    f["sd1_rel"] = float(sd1 / med)
    f["sd1_sd2"] = float(sd1 / sd2)
    se = _sampen(rr, 0.03)
    f["sampen"] = se
    f["cosen"] = float(se + np.log(0.06) - np.log(med))
    if rr.size >= 3:
        mid = rr[1:-1]
        f["tpr"] = float(np.mean(((mid > rr[:-2]) & (mid > rr[2:])) | ((mid < rr[:-2]) & (mid < rr[2:]))))
    if dd.size >= 2:
        f["sign_change"] = float(np.mean(np.sign(dd[1:]) != np.sign(dd[:-1])))
    f["max_rr_rel"] = float(rr.max() / med)
    f["min_rr_rel"] = float(rr.min() / med)
    # Irregularity among intervals between two non-ectopic beats: sinus rhythm with PVCs/PACs becomes regular.
    ok = (labels[1:] == "N") & (labels[:-1] == "N")
    rr_n = rr[ok]
    if rr_n.size >= 3:
        f["irreg_no_ectopy"] = float(median0(np.abs(np.diff(rr_n))) / median0(rr_n))
    f["frac_bad_rr"] = float(np.mean((rr < 0.27) | (rr > 2.5)))
    f["hist_dd_occupancy"] = float(_occupied_bins(np.clip(dd / med, -0.6, 0.6)) / min(24, dd.size))

    # Beat morphology on the 4-ms grid: template, correlations, P wave, QRS width.
    w = bc.beat_windows(y, fs, r, filtered=True)  # y: the same 0.5-40 Hz band-pass
    var = bc._lag_var(w)  # the same for -w
    tpl = bc._template(w, bc.timing_candidates(r / fs), var)
    if np.abs(tpl.min()) > np.abs(tpl.max()) * 1.3:  # inverted lead: make the dominant deflection positive
        w, tpl = -w, -tpl
    corr, sh = bc._best_shift(w, tpl, var)
    f["corr_mean"] = float(corr.mean())
    f["corr_p10"] = float(np.percentile(corr, 10))
    f["corr_frac_lo"] = float(np.mean(corr < 0.8))
    ws = bc._shifted(w, sh)
    off = bc._MAX_SHIFT
    r0 = bc._R0 - off
    tc = tpl[off:len(tpl) - off]
    q = slice(r0 - 25, r0 + 26)
    qrs_amp = float(np.ptp(tc[q])) + 1e-6
    pwin = slice(r0 - int(0.20 * bc.GRID_FS), r0 - int(0.07 * bc.GRID_FS))
    base = float(median0(tpl[:8]))  # 250-220 ms before R: before most P waves
    f["p_amp_rel"] = float(np.abs(tc[pwin] - base).max() / qrs_amp)
    f["p_corr_mean"] = float(np.mean(bc._corr_rows(ws[:, pwin], tc[pwin])))
    f["qrs_width_ms"] = float(bc._width_ms(tpl[None, :])[0])
    f["qrs_amp_mv"] = qrs_amp
    amps = np.ptp(ws[:, q], axis=1)
    f["amp_cv"] = float(amps.std() / (amps.mean() + 1e-9))
    f["resid_rel"] = float(median0(np.sqrt(np.mean((ws - tc) ** 2, axis=1))) / qrs_amp)

    # Fibrillatory activity: 4-9 Hz power in the T-Q intervals (after the T wave, before the next P/QRS).
    mask = _tq_mask(r, fs, n)
    if mask.sum() > int(0.5 * fs):
        fb2 = gather.masked(fb, mask) ** 2
        f["f_power_rel"] = float(np.sqrt(np.mean(fb2)) / qrs_amp)
        f["f_band_frac"] = float(np.mean(fb2) / (np.mean(gather.masked(y, mask) ** 2) + 1e-12))
    return np.asarray([f[k] for k in FEATURES], dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _cnn_ratio(fs: float) -> tuple[int, int]:
    ratio = Fraction(CNN_FS / fs).limit_denominator(64)
    return ratio.numerator, ratio.denominator


@functools.lru_cache(maxsize=64)
def _poly_filter(up: int, down: int, n_in: int) -> tuple[np.ndarray, int, int, int, int]:
    """The padded filter and output slice scipy.signal.resample_poly(x, up, down) builds for n_in samples
    (default Kaiser window, zero padding), built once: the 30-s windows of a long record all share it."""
    g = math.gcd(up, down)
    up, down = up // g, down // g
    n_out = n_in * up
    n_out = n_out // down + bool(n_out % down)
    max_rate = max(up, down)
    half_len = 10 * max_rate
    h = np.asarray(sps.firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)), dtype=np.float64)
    h *= up
    n_pre_pad = down - half_len % down
    n_post_pad = 0
    n_pre_remove = (half_len + n_pre_pad) // down
    while _upfirdn_len(h.shape[0] + n_pre_pad + n_post_pad, n_in, up, down) < n_out + n_pre_remove:
        n_post_pad += 1
    h = np.concatenate((np.zeros(n_pre_pad), h, np.zeros(n_post_pad)))
    h.flags.writeable = False
    return h, up, down, n_pre_remove, n_pre_remove + n_out


def _upfirdn_len(len_h: int, n_in: int, up: int, down: int) -> int:
    """Output length of scipy.signal.upfirdn (its private _output_len)."""
    return (((n_in - 1) * up + len_h) - 1) // down + 1


def _resample(y: np.ndarray, up: int, down: int) -> np.ndarray:
    """sps.resample_poly(y, up, down) of a 1-D float64 signal, bit for bit, with the filter cached."""
    h, up, down, a, z = _poly_filter(up, down, y.size)
    return sps.upfirdn(h, y, up, down)[a:z]


def cnn_input(band: np.ndarray, fs: float) -> np.ndarray:
    """(n,) float32 network input from the rhythm lead's 0.5-40 Hz signal: resampled to CNN_FS and divided by
    the median of the per-second peak amplitudes (the typical QRS size, robust to a few artefact bursts)."""
    up, down = _cnn_ratio(float(fs))
    y = np.asarray(band, dtype=np.float64)
    if (up, down) != (1, 1):
        y = _resample(y, up, down)
    y = y - median0(y)
    n = int(CNN_FS)
    k = y.size // n
    peaks = np.abs(y[: k * n]).reshape(k, n).max(axis=1) if k >= 3 else np.abs(y)
    scale = max(float(median0(peaks)), 1e-3)
    return np.clip(y / scale, -CNN_CLIP, CNN_CLIP).astype(np.float32)


@functools.lru_cache(maxsize=8)
def _cnn_session(path: str) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def cnn_probabilities(band: np.ndarray, fs: float, model: str | None = None) -> np.ndarray | None:
    """(4,) CNN probabilities of RHYTHM_CLASSES from the 0.5-40 Hz rhythm lead, or None when too short.
    model: path of the ONNX file (default: the shipped one)."""
    if band.size < CNN_MIN_S * fs:
        return None
    sess = _cnn_session(model or str(bc.WEIGHTS_DIR / CNN_MODEL))
    x = cnn_input(band, fs)[None, None, :]
    logits = np.asarray(sess.run(None, {sess.get_inputs()[0].name: x})[0][0], dtype=np.float64)
    e = np.exp(logits - logits.max())
    return e / e.sum()


def combine(p_features: np.ndarray, p_cnn: np.ndarray | None) -> np.ndarray:
    """The feature model's probabilities averaged with the CNN's (when it ran), renormalised."""
    p = np.clip(np.asarray(p_features, dtype=np.float64), 0.0, None)
    p = p / max(float(p.sum()), 1e-12)
    if p_cnn is not None:
        p = (1.0 - CNN_WEIGHT) * p + CNN_WEIGHT * p_cnn
    return p / max(float(p.sum()), 1e-12)


def rhythm_probabilities(
    signal: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, beat_labels: list[str],
    bands: Bands | None = None,
) -> dict[str, float]:
    """Probabilities of the CinC 2017 classes "N", "A", "O", "~" for one recording (they sum to 1): the feature
    model's averaged with the CNN's."""
    if bands is None:
        bands = record_bands(signal, fs, lead_names)
    feats = np.nan_to_num(rhythm_features(signal, fs, lead_names, r_peaks, beat_labels, bands), nan=0.0,
                          posinf=0.0, neginf=0.0)
    p = combine(bc.onnx_proba(RHYTHM_MODEL, feats[None, :])[0], cnn_probabilities(bands[0], fs))
    return {c: float(v) for c, v in zip(RHYTHM_CLASSES, p, strict=True)}


def span_probabilities(
    signal: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, beat_labels: list[str],
    bands: Bands, spans: list[tuple[int, int]],
) -> list[dict[str, float] | None]:
    """rhythm_probabilities() of each span [a, z) of one record, the same values, with the feature model run
    once over every span's feature vector (a tree ensemble scores each row on its own) instead of once per
    span. r_peaks, beat_labels: the whole record's beats in time order; bands: record_bands() of the record.
    None for a span where rhythm_probabilities() would have raised."""
    r = np.asarray(r_peaks, dtype=np.int64)
    labels = np.asarray(beat_labels)
    feats: list[np.ndarray | None] = []
    shared = _span_signal_features(bands[0], fs, spans) if spans else {}
    for a, z in spans:
        sel = (r >= a) & (r < z)
        try:
            f = rhythm_features(signal[a:z], fs, lead_names, r[sel] - a, [str(v) for v in labels[sel]],
                                (bands[0][a:z], bands[1][a:z]), shared.get((a, z)))
            feats.append(np.nan_to_num(f, nan=0.0, posinf=0.0, neginf=0.0))
        except Exception:
            feats.append(None)
    done = [i for i, f in enumerate(feats) if f is not None]
    out: list[dict[str, float] | None] = [None] * len(spans)
    if not done:
        return out
    p_feat = bc.onnx_proba(RHYTHM_MODEL, np.stack([f for f in feats if f is not None]))
    for i, row in zip(done, p_feat, strict=True):
        a, z = spans[i]
        try:
            p = combine(row, cnn_probabilities(bands[0][a:z], fs))
        except Exception:
            continue
        out[i] = {c: float(v) for c, v in zip(RHYTHM_CLASSES, p, strict=True)}
    return out
