"""AAMI EC57 beat classes (N, S, V, F, Q) for detected beats, from two small ONNX tree ensembles.

Why two models: only six MIT-BIH records carry signals, but all 22 DS1 records carry reference beat labels.
Supraventricular ectopy is mostly a timing event (a premature beat with a normal QRS), so
  * the morphology model (signals of the six records) separates supraventricular (N or S), V, F and Q beats
    from RR timing plus QRS/T/P shape *relative to the record's own dominant beat*, and
  * the RR model (beat times of all 22 DS1 records) splits a supraventricular beat into N or S from
    prematurity relative to the local rhythm.
Both feature sets are ratios against the same patient's own rhythm and beat, which is what lets a model trained
on a few patients carry over to new ones (cf. de Chazal 2004; Mar 2011).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage, signal

from dualsign.analyzers.ecg import gather, pacing
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt
from dualsign.analyzers.ecg.model_card import load_card

AAMI_CLASSES: tuple[str, ...] = ("N", "S", "V", "F", "Q")
# Morphology model output order. Paced beats (Q) occur in one record only and fusion beats (F) number 16, too
# few to teach an inter-patient model: the model separates supraventricular from ventricular beats only;
# paced beats are recognised by their stimulus spike (pacing.py).
MORPH_CLASSES: tuple[str, ...] = ("SV", "V")
# Monotone shape constraints (+1: more ventricular as the feature grows) keep the trees from learning
# record-specific quirks of the few training patients.
MONOTONE: dict[str, int] = {
    "corr_qrs": -1, "corr_wide": -1, "corr_t": -1, "min_corr_qrs": -1, "min_corr_wide": -1, "resid": 1,
    "max_resid": 1, "width_ms": 1, "log_width": 1, "max_log_width": 1, "rel_dis_qrs": 1, "rel_dis_wide": 1,
    "rel_dis_min_wide": 1, "rel_resid": 1, "rel_max_resid": 1, "p_wave": -1,
}

WEIGHTS_DIR = Path(__file__).with_name("weights")
MORPH_MODEL = "beats_morph.onnx"
RR_MODEL = "beats_rr.onnx"

# Beat windows are sampled on a fixed 4-ms grid whatever the input rate.
GRID_FS = 250.0
_T = np.arange(-0.25, 0.45 + 1e-9, 1.0 / GRID_FS)
_R0 = int(round(0.25 * GRID_FS))  # index of the R peak in the grid
_MAX_SHIFT = 10  # +-40 ms re-alignment against the template

# Lead preference: the MIT-BIH models saw MLII (or V5) as primary and V1 (or V2) as secondary.
_PRIMARY = ("MLII", "II", "ML2", "V5", "CM5", "I", "V6", "V4", "ECG")
_SECONDARY = ("V1", "V2", "MV1", "V3")

RR_FEATURES: tuple[str, ...] = (
    "pre_s", "post_s", "local_s", "pre_local", "post_local", "pre_post", "prevpre_local",
    "nextpost_local", "local_global", "irreg", "pre_prev4",
)
# The RR model reads them with the irregularity taken from the rhythm without ventricular beats, and two more
# prematurity ratios against that rhythm (rr_model_features).
_IRREG = RR_FEATURES.index("irreg")
_CLEAN_COLS = [RR_FEATURES.index(n) for n in ("pre_local", "post_local")]
RR_MODEL_FEATURES: tuple[str, ...] = tuple("clean_irreg" if n == "irreg" else n for n in RR_FEATURES) + (
    "pre_clean_local", "post_clean_local")
MORPH_FEATURES: tuple[str, ...] = (
    "corr_qrs", "corr_wide", "corr_t", "corr_p", "log_amp", "width_ms", "log_width", "log_slope",
    "resid", "log_area", "min_corr_qrs", "min_corr_wide", "max_resid", "max_log_width",
    "rel_dis_qrs", "rel_dis_wide", "rel_dis_min_wide", "rel_resid", "rel_max_resid", "p_wave",
)


def aami_of_symbol(sym: str) -> str | None:
    """AAMI class of a MIT-BIH beat symbol; None for non-beat annotations."""
    for cls, syms in (("N", "NLRej"), ("S", "AaJS"), ("V", "VE"), ("F", "F"), ("Q", "/fQ")):
        if sym in syms:
            return cls
    return None


# ----------------------------------------------------------------------------------------------- RR
def rr_features(r_s: np.ndarray, ectopic: np.ndarray | None = None) -> np.ndarray:
    """(n_beats, len(RR_FEATURES)) timing features; r_s are beat times in seconds, sorted.

    ectopic: optional per-beat mask of ventricular beats. The reference quantities (local rhythm, its
    irregularity, the preceding-interval mean) then come from the intervals that touch no such beat: a V beat's
    short coupling and compensatory pause are not the rhythm a supraventricular beat is premature against."""
    n = r_s.size
    out = np.zeros((n, len(RR_FEATURES)), dtype=np.float32)
    if n == 0:
        return out
    if n == 1:
        out[:] = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
        return out
    d = np.diff(r_s)
    glob = float(median0(d))
    clean = _clean_intervals(ectopic, n)
    pre, post, local, size = _pre_post_local(d, clean)
    prevpre = np.concatenate([[pre[0]], pre[:-1]])
    nextpost = np.concatenate([post[1:], [post[-1]]])
    irr = np.abs(np.diff(d, prepend=d[0]))
    if clean is None:
        irr_loc = ndimage.median_filter(irr, size=max(size, 1), mode="nearest")
    else:
        irr_loc = _masked_running_median(irr, clean & np.concatenate([[True], clean[:-1]]), size)
    irr_b = np.concatenate([[irr_loc[0]], irr_loc])
    out[:, 0] = pre
    out[:, 1] = post
    out[:, 2] = local
    out[:, 3] = pre / local
    out[:, 4] = post / local
    out[:, 5] = pre / np.maximum(post, 1e-3)
    out[:, 6] = prevpre / local
    out[:, 7] = nextpost / local
    out[:, 8] = local / max(glob, 1e-3)
    out[:, 9] = irr_b / local
    # Prematurity against the few preceding intervals only (what a reader sees on the strip).
    out[:, 10] = pre / np.maximum(_prev4(pre, None if clean is None else np.concatenate([[True], clean])), 1e-3)
    return out


def rr_model_features(r_s: np.ndarray, ventricular: np.ndarray | None) -> np.ndarray:
    """(n_beats, len(RR_MODEL_FEATURES)): rr_features(r_s) with the irregularity measured on the intervals that
    touch no ventricular beat (reference labels in training, the morphology model's V calls at run time), then
    prematurity before and after the beat against the local rhythm of those intervals.

    Ectopy makes a sinus rhythm look irregular (coupling interval, pause), and an irregular rhythm is where
    the RR model learnt to doubt a premature beat (AF); the irregularity is meant to be the rhythm's own.
    The prematurity ratios are kept against both references: in AF or a VT run no interval is clean."""
    plain = rr_features(r_s)
    clean = plain if ventricular is None else rr_features(r_s, ventricular)
    out = np.concatenate([plain, clean[:, _CLEAN_COLS]], axis=1)
    out[:, _IRREG] = clean[:, _IRREG]
    return out


def ventricular_calls(p_morph: np.ndarray, p_paced: np.ndarray) -> np.ndarray:
    """Beats the morphology model calls V (paced beats aside): the ectopic beats rr_model_features leaves out."""
    return (p_morph[:, 1] >= 0.5) & (p_paced < 0.5)


def _prev4(pre: np.ndarray, clean_pre: np.ndarray | None) -> np.ndarray:
    """Mean of the (clean, where a mask is given) intervals before each of the four preceding beats; the
    beat's own interval where there are none."""
    n = pre.size
    ok = np.ones(n) if clean_pre is None else clean_pre.astype(np.float64)
    c = np.concatenate([[0.0], np.cumsum(pre * ok)])
    cn = np.concatenate([[0.0], np.cumsum(ok)])
    k = np.arange(n)
    lo = np.maximum(k - 4, 0)
    cnt = cn[k] - cn[lo]
    mean = (c[k] - c[lo]) / np.maximum(cnt, 1)
    if clean_pre is not None:  # none of the four clean: all four, as without a mask
        ca = np.concatenate([[0.0], np.cumsum(pre)])
        mean = np.where(cnt > 0, mean, (ca[k] - ca[lo]) / np.maximum(k - lo, 1))
    return np.where(k > 0, mean, pre)


# Fewest clean intervals a masked local median is taken from (the smallest count whose median rejects one
# stray value); with fewer, every interval counts, as without a mask (a run of VT or bigeminy).
_MIN_CLEAN = 3


def _clean_intervals(ectopic: np.ndarray | None, n: int) -> np.ndarray | None:
    """Per RR interval: neither end is an ectopic beat (None without a mask)."""
    if ectopic is None:
        return None
    e = np.asarray(ectopic, dtype=bool)
    if e.size != n or not e.any():
        return None
    return ~(e[:-1] | e[1:])


def _masked_running_median(d: np.ndarray, clean: np.ndarray, size: int) -> np.ndarray:
    """_running_median over the clean values of each window; the plain one where fewer than _MIN_CLEAN are."""
    plain = _running_median(d, size)
    h = size // 2
    vals = np.concatenate([np.repeat(d[:1], h), d, np.repeat(d[-1:], h)])
    ok = np.concatenate([np.repeat(clean[:1], h), clean, np.repeat(clean[-1:], h)])
    win = np.lib.stride_tricks.sliding_window_view(np.where(ok, vals, np.nan), size)
    cnt = np.lib.stride_tricks.sliding_window_view(ok, size).sum(axis=1)
    enough = cnt >= _MIN_CLEAN
    if not enough.any():
        return plain
    # Median of each window's clean values: sorted, NaN (the others) last, the middle of the first cnt.
    srt = np.sort(win[enough], axis=1)
    c = cnt[enough]
    rows = np.arange(c.size)
    masked = plain.copy()
    masked[enough] = (srt[rows, (c - 1) // 2] + srt[rows, c // 2]) / 2.0
    return masked


def _running_median(d: np.ndarray, size: int) -> np.ndarray:
    """ndimage.median_filter(d, size, mode="nearest") of a 1-D float array for odd size: each value is the
    middle one of its window (edges repeated), selected here without ndimage's per-call set-up (the rhythm
    model asks for it on a few dozen intervals in every 30-s window)."""
    h = size // 2
    padded = np.concatenate([np.repeat(d[:1], h), d, np.repeat(d[-1:], h)])
    return np.asarray(median0(np.lib.stride_tricks.sliding_window_view(padded, size).T), dtype=np.float64)


def _pre_post_local(
    d: np.ndarray, clean: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Per beat, from the RR intervals d (at least one): the intervals before and after it (the local rhythm
    where there is none), the local rhythm, and the size of the median filter that set it.
    clean: optional mask of the intervals the local rhythm is taken from (see rr_features)."""
    pre = np.concatenate([[np.nan], d])
    post = np.concatenate([d, [np.nan]])
    # Local rhythm: median of ~20 surrounding intervals; the median ignores the ectopic beats themselves.
    size = int(min(21, 2 * (d.size // 2) + 1))
    local_d = _running_median(d, size) if clean is None else _masked_running_median(d, clean, size)
    local = np.concatenate([[local_d[0]], (local_d[:-1] + local_d[1:]) / 2.0, [local_d[-1]]])
    pre = np.where(np.isnan(pre), local, pre)
    post = np.where(np.isnan(post), local, post)
    return pre, post, local, size


def timing_candidates(r_s: np.ndarray) -> np.ndarray:
    """dominant_candidates(rr_features(r_s)) without P-wave findings, from the only two features it reads
    (pre_local, post_local, rounded to float32 as there): the rhythm model asks for it in every 30-s window."""
    n = r_s.size
    if n < 2:
        return dominant_candidates(rr_features(r_s))
    pre, post, local, _ = _pre_post_local(np.diff(r_s))
    pre_local = (pre / local).astype(np.float32)
    post_local = (post / local).astype(np.float32)
    ok = (pre_local >= 0.92) & (post_local <= 1.5)
    return ok if ok.sum() >= 3 else np.ones(n, dtype=bool)


# ---------------------------------------------------------------------------------------- morphology
def pick_leads(lead_names: list[str], n_leads: int) -> tuple[int, int]:
    """(primary, secondary) lead indices; secondary == primary for one-lead input."""
    names = [n.upper() for n in lead_names[:n_leads]]
    prim = next((names.index(p.upper()) for p in _PRIMARY if p.upper() in names), 0)
    sec_c = [names.index(s.upper()) for s in _SECONDARY if s.upper() in names and names.index(s.upper()) != prim]
    sec = sec_c[0] if sec_c else next((i for i in range(n_leads) if i != prim), prim)
    return prim, sec


@functools.lru_cache(maxsize=16)
def _bandpass(fs: float) -> np.ndarray:
    return signal.butter(2, [0.5, min(40.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")


def bandpass(x: np.ndarray, fs: float) -> np.ndarray:
    """0.5-40 Hz zero-phase band-pass of one lead (what beat windows are cut from)."""
    return sosfiltfilt(_bandpass(float(fs)), x) if x.size > 30 else x - np.median(x)


def beat_windows(x: np.ndarray, fs: float, r_peaks: np.ndarray, filtered: bool = False) -> np.ndarray:
    """(n_beats, len(_T)) band-passed beat windows of one lead, linearly interpolated onto the 4-ms grid.
    filtered: x is already bandpass(x, fs)."""
    y = x if filtered else bandpass(x, fs)
    pos = r_peaks[:, None].astype(np.float64) + _T[None, :] * fs
    pos = np.clip(pos, 0.0, y.size - 1.0)
    i0 = np.floor(pos).astype(np.int64)
    i1 = np.minimum(i0 + 1, y.size - 1)
    fr = pos - i0
    return np.asarray(gather.at(y, i0) * (1.0 - fr) + gather.at(y, i1) * fr, dtype=np.float64)


def _width_ms(w: np.ndarray) -> np.ndarray:
    """QRS width proxy: span holding the central 80 % of the slope energy within +-150 ms (robust to noise)."""
    lo, hi = _R0 - int(0.15 * GRID_FS), _R0 + int(0.15 * GRID_FS)
    d = np.diff(w[..., lo:hi], axis=-1) ** 2
    cum = np.cumsum(d, axis=-1)
    cum = cum / (cum[..., -1:] + 1e-12)
    first = np.argmax(cum > 0.1, axis=-1)
    last = np.argmax(cum > 0.9, axis=-1)
    return (last - first + 1) * (1000.0 / GRID_FS)


def _p_rhythm(ok: np.ndarray, p_present: np.ndarray | None) -> bool:
    """Enough P-preceded non-premature beats to be a rhythm of their own (not AF, junctional or P unknown)."""
    if p_present is None or p_present.size != ok.size:
        return False
    return bool((ok & p_present.astype(bool)).sum() >= max(3, 0.1 * ok.size))


def dominant_candidates(rr: np.ndarray, p_present: np.ndarray | None = None) -> np.ndarray:
    """Beats the dominant (conducted) template is built from: not premature and, when P-wave findings are
    given, preceded by a P wave. Timing alone fails in a strip dominated by a ventricular rhythm (VT at a
    steady rate is 'not premature'), where the template would be the ectopic beat itself."""
    ok = (rr[:, 3] >= 0.92) & (rr[:, 4] <= 1.5)
    if ok.sum() < 3:
        ok = np.ones(rr.shape[0], dtype=bool)
    # Enough P-preceded beats to be a rhythm of their own; otherwise (AF, junctional) timing decides.
    if p_present is not None and _p_rhythm(ok, p_present):
        ok = ok & p_present.astype(bool)
    return ok


def _template(w: np.ndarray, ok: np.ndarray, var: np.ndarray | None = None) -> np.ndarray:
    """Dominant beat: median of the candidate beats (see dominant_candidates), refined once.
    var: _lag_var(w), when the caller has it."""
    tpl = median0(w[ok])
    # Second pass: align the beats on the first template (reference or detected fiducials jitter) and keep
    # those that resemble it (drops V beats at a normal rate), so the template is sharp, not smeared.
    corr, sh = _best_shift(w, tpl, var)
    ok2 = ok & (corr > 0.8)
    if ok2.sum() < 3:
        ok2 = ok
    inner = median0(_shifted(w[ok2], sh[ok2]))
    return np.concatenate([tpl[:_MAX_SHIFT], inner, tpl[len(_T) - _MAX_SHIFT:]])


_QRS = slice(_R0 - 25, _R0 + 26)  # +-100 ms


def _qrs_lags(w: np.ndarray) -> np.ndarray:
    """(n_beats, n_lags, window) views: every beat window's QRS at every lag of +-_MAX_SHIFT."""
    v = w[:, _QRS.start - _MAX_SHIFT:_QRS.stop + _MAX_SHIFT]
    n = _QRS.stop - _QRS.start
    # sliding_window_view(v, n, axis=1), built directly (its checks cost more than the small windows' work)
    return np.lib.stride_tricks.as_strided(
        v, shape=(v.shape[0], v.shape[1] - n + 1, n), strides=(v.strides[0], v.strides[1], v.strides[1]),
        writeable=False,
    )


def _lag_var(w: np.ndarray) -> np.ndarray:
    """The template-independent variance term of _best_shift's correlations (the same for -w): the same
    windows are correlated with the first and with the refined template, so callers compute it once."""
    return _row_var(_qrs_lags(w))


def _best_shift(w: np.ndarray, tpl: np.ndarray, var: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Max QRS correlation (+-100 ms window) over lags of +-40 ms, and the lag (grid samples) per beat.
    var: _lag_var(w), when the caller has it."""
    shifts = np.arange(-_MAX_SHIFT, _MAX_SHIFT + 1)
    # All lags at once, correlated with the template's QRS.
    cs = _corr_rows(_qrs_lags(w), tpl[_QRS], var)
    best = np.argmax(cs, axis=1)
    return cs[np.arange(w.shape[0]), best], shifts[best]


def _shifted(w: np.ndarray, sh: np.ndarray) -> np.ndarray:
    """Inner part of each window (edges of +-_MAX_SHIFT dropped), moved by its lag."""
    idx = np.arange(_MAX_SHIFT, len(_T) - _MAX_SHIFT)[None, :] + sh[:, None]
    return np.take_along_axis(w, idx, axis=1)


def _row_var(a: np.ndarray) -> np.ndarray:
    """n * variance of each row of a, as sum(a^2) - sum(a)^2/n (no centred copy of a), at least 0."""
    n = a.shape[-1]
    s = a.sum(axis=-1)
    return np.maximum(np.einsum("...i,...i->...", a, a) - s * s / n, 0.0)


def _corr_rows(a: np.ndarray, b: np.ndarray, var: np.ndarray | None = None) -> np.ndarray:
    """Pearson correlation of each row of a (often a strided view of every lag) with b.

    With b centred, a's mean drops out of the numerator and its variance is sum(a^2) - sum(a)^2/n, so no
    centred copy of a is ever made. var: _row_var(a), when the caller has it."""
    b = b - b.mean()
    if var is None:
        var = _row_var(a)
    den = np.sqrt(var * float(b @ b)) + 1e-12
    return np.asarray((a @ b) / den)


_WIDTH_COL = 5  # width_ms (of the beat, not relative) in _lead_morph's columns


def _lead_morph(w: np.ndarray, tpl: np.ndarray, var: np.ndarray | None = None) -> np.ndarray:
    """(n_beats, 10) shape features of one lead relative to its template (var: _lag_var(w), when known)."""
    q = _QRS
    corr_qrs, sh = _best_shift(w, tpl, var)
    # Windows of the beat shifted by its best lag (so later windows compare like with like).
    ws = _shifted(w, sh)
    tc = tpl[_MAX_SHIFT:len(_T) - _MAX_SHIFT]
    off = _MAX_SHIFT
    wide = slice(0, ws.shape[1])
    tw = slice(_R0 + int(0.12 * GRID_FS) - off, _R0 + int(0.40 * GRID_FS) - off)
    pw = slice(_R0 - int(0.20 * GRID_FS) - off, _R0 - int(0.06 * GRID_FS) - off)
    qs = slice(q.start - off, q.stop - off)
    corr_wide = _corr_rows(ws[:, wide], tc[wide])
    corr_t = _corr_rows(ws[:, tw], tc[tw])
    corr_p = _corr_rows(ws[:, pw], tc[pw])
    ptp_b = np.ptp(ws[:, qs], axis=1)
    ptp_t = float(np.ptp(tc[qs])) + 1e-6
    width_b = _width_ms(w)
    width_t = float(_width_ms(tpl[None, :])[0])
    slope_b = np.abs(np.diff(ws[:, qs], axis=1)).max(axis=1)
    slope_t = float(np.abs(np.diff(tc[qs])).max()) + 1e-6
    resid = np.sqrt(((ws[:, qs] - tc[qs]) ** 2).sum(axis=1)) / (np.sqrt((tc[qs] ** 2).sum()) + 1e-6)
    area_b = np.abs(ws[:, qs]).sum(axis=1)
    area_t = float(np.abs(tc[qs]).sum()) + 1e-6
    return np.stack([
        corr_qrs, corr_wide, corr_t, corr_p,
        np.log((ptp_b + 1e-6) / ptp_t), width_b, np.log(width_b / max(width_t, 4.0)),
        np.log((slope_b + 1e-6) / slope_t), resid, np.log((area_b + 1e-6) / area_t),
    ], axis=1)


def beat_features(
    sig: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, p_present: np.ndarray | None = None,
    filtered: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(morphology-model features, RR-model features) for every beat (p_present: see dominant_candidates).

    filtered: bandpass() of every lead of sig, when the caller has it already (the delineator's prepared
    signal is the same 0.5-40 Hz filter), so it is not computed twice."""
    morph, rr, _ = _beat_features(sig, fs, lead_names, r_peaks, p_present, filtered)
    return morph, rr


def _beat_features(
    sig: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, p_present: np.ndarray | None,
    filtered: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """beat_features() and the QRS width per beat that paced_beats() reads (the wider of the two leads'), from
    the same beat windows; None where paced_beats() would cut its windows from another signal."""
    x = np.asarray(sig, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    same_windows = filtered is None or filtered.shape != x.shape or x.shape[0] > 30
    if filtered is not None and (filtered.shape != x.shape or x.shape[0] <= 30):
        filtered = None
    r = np.asarray(r_peaks, dtype=np.int64)
    rr = rr_features(r / float(fs))
    if r.size == 0:
        return np.zeros((0, len(RR_FEATURES) + len(MORPH_FEATURES)), np.float32), rr, None
    prim, sec = pick_leads(list(lead_names), x.shape[1])
    cand = dominant_candidates(rr, p_present)
    feats = []
    for li in dict.fromkeys((prim, sec)):
        w = beat_windows(x[:, li], fs, r) if filtered is None else beat_windows(filtered[:, li], fs, r, True)
        var = _lag_var(w)
        feats.append(_lead_morph(w, _template(w, cand, var), var))
    p = feats[0]
    allf = np.stack(feats, axis=0)
    worst = np.stack([allf[:, :, 0].min(0), allf[:, :, 1].min(0), allf[:, :, 8].max(0),
                      np.abs(allf[:, :, 6]).max(0)], axis=1)
    # Dissimilarity relative to the typical dissimilarity of the dominant (candidate) beats: a noisy record (or
    # lead) has every beat far from its template, so only the ratio tells an ectopic beat from noise. Not the
    # median of all beats: in a strip that is mostly VT that median is itself an ectopic beat.
    dis = np.stack([1.0 - p[:, 0], 1.0 - p[:, 1], 1.0 - worst[:, 1], p[:, 8], worst[:, 2]], axis=1)
    rel = np.log((dis + 0.01) / (median0(dis[cand]) + 0.01))
    # A ventricular beat is not preceded by a conducted P wave. Only informative where the record has a P-wave
    # rhythm at all; in AF, junctional rhythm or without delineation every beat reads "P present" (neutral).
    no_p = _no_p_wave(rr, p_present)
    rr_m = rr.copy()
    # A beat without a P wave is judged on its shape, not its timing: inside a run of VT the ventricular beats
    # are not premature against the local (ventricular) rhythm, and the few training records have few such runs.
    rr_m[np.ix_(no_p, _TIMING_COLS)] = 1.0
    rr_m[no_p, 0] = rr_m[no_p, 1] = rr[no_p, 2]
    morph = np.concatenate([rr_m, p, worst, rel, (~no_p)[:, None]], axis=1).astype(np.float32)
    width = np.max([f[:, _WIDTH_COL] for f in feats], axis=0) if same_windows else None
    return np.nan_to_num(morph, nan=0.0, posinf=0.0, neginf=0.0), rr, width


# Interval ratios set to 1 (the local rhythm) for beats without a P wave; pre_s and post_s become local_s.
_TIMING_COLS = np.array([RR_FEATURES.index(n) for n in (
    "pre_local", "post_local", "pre_post", "prevpre_local", "nextpost_local", "pre_prev4")])


def _p_in_p_rhythm(rr: np.ndarray, p_present: np.ndarray | None) -> np.ndarray | None:
    """The P-wave findings as bool when the record has a P-wave rhythm; None without delineation or in AF."""
    if p_present is None or not _p_rhythm(dominant_candidates(rr, None), p_present):
        return None
    return p_present.astype(bool)


def _no_p_wave(rr: np.ndarray, p_present: np.ndarray | None) -> np.ndarray:
    """Beats with no P wave in a record whose rhythm has P waves (all False without delineation, or in AF)."""
    p = _p_in_p_rhythm(rr, p_present)
    return np.zeros(rr.shape[0], dtype=bool) if p is None else ~p


def conducted(rr: np.ndarray, p_present: np.ndarray | None) -> np.ndarray:
    """Beats preceded by a P wave (in a P-wave rhythm) and not premature: conducted, so never called V
    (a dissimilar shape there is noise or an axis change, as in MIT-BIH 108)."""
    p = _p_in_p_rhythm(rr, p_present)
    return np.zeros(rr.shape[0], dtype=bool) if p is None else p & (rr[:, 3] >= 0.92)


def gate_v(p_morph: np.ndarray, is_conducted: np.ndarray) -> np.ndarray:
    """Morphology probabilities with the V probability of conducted beats moved to SV."""
    out = np.array(p_morph, dtype=np.float64, copy=True)
    out[is_conducted, 0] += out[is_conducted, 1]
    out[is_conducted, 1] = 0.0
    return out


def paced_beats(
    sig: np.ndarray, fs: float, lead_names: list[str], r_peaks: np.ndarray, filtered: np.ndarray | None = None,
    width: np.ndarray | None = None,
) -> np.ndarray:
    """Per beat (r_peaks sorted): paced, from the raw signal's stimulus spikes and the QRS width (pacing.py).
    The width is the widest of the two leads the morphology model reads (width: as computed here, when the
    caller has it from _beat_features)."""
    x = np.asarray(sig, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    r = np.asarray(r_peaks, dtype=np.int64)
    spiked = pacing.spike_beats(x, fs, r)
    if not spiked.any():
        return spiked
    if width is not None:
        return pacing.paced_rhythm(spiked, width >= pacing.WIDE_QRS_MS)
    if filtered is not None and filtered.shape != x.shape:
        filtered = None
    prim, sec = pick_leads(list(lead_names), x.shape[1])
    width = np.max([
        _width_ms(beat_windows(x[:, li], fs, r) if filtered is None else beat_windows(filtered[:, li], fs, r, True))
        for li in dict.fromkeys((prim, sec))
    ], axis=0)
    return pacing.paced_rhythm(spiked, width >= pacing.WIDE_QRS_MS)


def lower_v_threshold(p_morph: np.ndarray, no_p: np.ndarray, threshold: float) -> np.ndarray:
    """Morphology probabilities with P(V) of beats without a P wave rescaled so that `threshold` maps to 0.5.

    A beat without a P wave in a P-wave rhythm is not conducted from the atria: it is ventricular or junctional,
    and junctional beats are rare, so a weaker ventricular shape suffices there. The threshold is chosen by an
    inner leave-one-record-out in training (train_beats.choose_v_threshold) and stored in card.json."""
    out = np.array(p_morph, dtype=np.float64, copy=True)
    t = float(np.clip(threshold, 1e-3, 1.0 - 1e-3))
    v = out[no_p, 1]
    v = np.where(v < t, 0.5 * v / t, 0.5 + 0.5 * (v - t) / (1.0 - t))
    out[no_p, 1] = v
    out[no_p, 0] = 1.0 - v
    return out


@functools.lru_cache(maxsize=1)
def no_p_v_threshold() -> float:
    """The shipped threshold (card.json "beats"); 0.5 (no change) when the card does not give one."""
    try:
        return float((load_card() or {})["beats"]["no_p_v_threshold"])
    except (KeyError, TypeError, ValueError):
        return 0.5


# ------------------------------------------------------------------------------------------ inference
def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.lru_cache(maxsize=4)
def _session(name: str) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(WEIGHTS_DIR / name), sess_options=opts, providers=["CPUExecutionProvider"])


def onnx_proba(name: str, x: np.ndarray) -> np.ndarray:
    """Class probabilities (n, k) from a converted sklearn classifier (zipmap disabled at export)."""
    sess = _session(name)
    outs = sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(x, dtype=np.float32)})
    return np.asarray(outs[1], dtype=np.float64)


def combine(p_morph: np.ndarray, p_s: np.ndarray, p_q: np.ndarray | None = None) -> np.ndarray:
    """(n, 5) N,S,V,F,Q probabilities from morphology (SV, V), P(S | supraventricular) and P(paced)."""
    sv, v = p_morph[:, 0], p_morph[:, 1]
    q = np.zeros_like(sv) if p_q is None else p_q
    zero = np.zeros_like(sv)
    out = np.stack([sv * (1.0 - p_s), sv * p_s, v, zero, zero], axis=1) * (1.0 - q)[:, None]
    out[:, 4] = q
    return out


def classify_beats(
    signal: np.ndarray,
    fs: float,
    lead_names: list[str],
    r_peaks: np.ndarray,
    p_present: np.ndarray | None = None,
    filtered: np.ndarray | None = None,
) -> tuple[list[str], np.ndarray]:
    """AAMI label per R peak and an (n_beats, 5) probability array in the order N, S, V, F, Q.

    signal: float mV, (n_samples, n_leads) or (n_samples,); any rate and lead set. r_peaks: sample indices.
    p_present: optional P wave found before each beat (delineation); it anchors the dominant template.
    filtered: optional bandpass() of every lead (see beat_features).
    """
    r = np.asarray(r_peaks, dtype=np.int64)
    if r.size == 0:
        return [], np.zeros((0, 5))
    order = np.argsort(r, kind="stable")
    hint = None if p_present is None else np.asarray(p_present, dtype=bool)[order]
    morph, rr, width = _beat_features(signal, fs, lead_names, r[order], hint, filtered)
    p_m = gate_v(onnx_proba(MORPH_MODEL, morph), conducted(rr, hint))
    p_m = lower_v_threshold(p_m, _no_p_wave(rr, hint), no_p_v_threshold())
    # A paced beat is class Q whatever its shape (a ventricular-paced QRS looks like a PVC).
    p_q = paced_beats(signal, fs, lead_names, r[order], filtered, width).astype(np.float64)
    # Second pass: the RR model judges prematurity against the rhythm without the V beats just found.
    p_s = onnx_proba(RR_MODEL, rr_model_features(r[order] / float(fs), ventricular_calls(p_m, p_q)))[:, 1]
    probs_sorted = combine(p_m, p_s, p_q)
    probs = np.empty_like(probs_sorted)
    probs[order] = probs_sorted
    labels = [AAMI_CLASSES[i] for i in np.argmax(probs, axis=1)]
    return labels, probs
