"""Atrial flutter (AFL) from measured atrial activity: the regular flutter waves left once the QRS is removed.

Per analysis window (the AF windows: a short record whole, a long one in 30-s windows), on each usable lead
(inferior leads and V1 first, where flutter waves are largest):
  1. band-pass 2-20 Hz (removes baseline and most of the T wave's energy, keeps the flutter waves'
     fundamental and first harmonics);
  2. cancel the QRS only (see _residual): subtract the window's median QRS template (-70..+100 ms around R,
     tapered) from every dominant beat, draw a line across the others;
  3. Welch spectrum of the residual. Flutter is a macro re-entry: one sharp dominant peak at the atrial rate
     (3.5-6 Hz = 210-360 /min) carrying most of the residual's power (peak and its harmonics over the 2-20 Hz
     power: the "organisation index" of the AF literature). Fibrillation spreads its power over 4-9 Hz
     (low organisation);
  4. flutter waves never stop: the residual's one-cycle RMS hardly varies across the T-Q spans (continuity),
     where sinus rhythm shows one P wave and flat baseline; windows without such spans are not called;
  5. the atrial rate must exceed the ventricular rate (AV conduction ratio >= 1.7: 2:1, 3:1, 4:1 or variable
     conduction), and the residual must be large enough to be atrial activity rather than noise.
Thresholds were set on a 600-record CinC 2017 development sample (200 per class N, A, O: none called flutter)
and on built flutter signals with 3:1, 4:1 and variable conduction (tests/analyzers/ecg/synthetic_rhythms.py).
Limitation (stated in the model card): flutter is called only where T-Q spans show the flutter waves, i.e.
with 4:1 or variable conduction or a slow ventricular response; with 2:1 (and 3:1 at 100 /min) conduction
every other flutter wave hides in the QRS or T wave and the residual looks like a sinus rhythm's P and T
remnants, so such flutter is missed (read as sinus tachycardia / SVT / other rhythm). No developer record
holds labelled flutter with its signal, so sensitivity on real flutter has not been measured.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import signal as sps
from scipy.ndimage import uniform_filter1d

from dualsign.analyzers.ecg import gather
from dualsign.analyzers.ecg.fastmedian import median0
from dualsign.analyzers.ecg.filtfilt import sosfiltfilt
from dualsign.analyzers.ecg.spectrum import welch

ATRIAL_RATE_HZ = (3.5, 6.0)  # 210-360 /min
MIN_ORGANISATION = 0.6
MIN_CONTINUITY = 0.6
MIN_CONDUCTION_RATIO = 1.7
MIN_RESIDUAL_MV = 0.025
_PREFERRED = ("II", "aVF", "III", "V1", "MLII", "ECG", "I")


@dataclass
class FlutterMeasure:
    lead: str
    atrial_rate_bpm: float
    organisation: float  # power share of the dominant peak and its harmonics in the 2-20 Hz residual
    continuity: float  # see _continuity
    residual_mv: float  # RMS of the QRS-cancelled 2-20 Hz residual
    ventricular_rate_bpm: float
    conduction_ratio: float  # atrial / ventricular rate

    @property
    def is_flutter(self) -> bool:
        return (
            ATRIAL_RATE_HZ[0] * 60 <= self.atrial_rate_bpm <= ATRIAL_RATE_HZ[1] * 60
            and self.organisation >= MIN_ORGANISATION
            and self.continuity >= MIN_CONTINUITY
            and self.conduction_ratio >= MIN_CONDUCTION_RATIO
            and self.residual_mv >= MIN_RESIDUAL_MV
        )

    def criteria(self) -> dict[str, object]:
        return {
            "lead": self.lead,
            "atrial_rate_bpm": round(self.atrial_rate_bpm, 0),
            "flutter_wave_organisation": round(self.organisation, 2),
            "flutter_wave_continuity": round(self.continuity, 2),
            "flutter_wave_rms_mv": round(self.residual_mv, 3),
            "ventricular_rate_bpm": round(self.ventricular_rate_bpm, 0),
            "conduction_ratio": f"{self.conduction_ratio:.1f}:1",
        }


@functools.lru_cache(maxsize=16)
def _band(fs: float) -> np.ndarray:
    return sps.butter(2, [2.0, min(20.0, 0.45 * fs)], btype="bandpass", fs=fs, output="sos")


def _lead_order(names: list[str], lead_ok: np.ndarray) -> list[int]:
    ok = [i for i in range(len(names)) if i < lead_ok.size and lead_ok[i]]
    first = [names.index(p) for p in _PREFERRED if p in names and names.index(p) in ok]
    return (first or ok)[:4]


@functools.lru_cache(maxsize=16)
def _taper(n: int) -> np.ndarray:
    """(n, 1) Tukey taper of the template cancelled at each QRS (read-only: shared between windows)."""
    t = sps.windows.tukey(n, 0.3)[:, None]
    t.flags.writeable = False
    return t


@functools.lru_cache(maxsize=16)
def _ramp(n: int) -> np.ndarray:
    """(1, n, 1) 0..1 ramp of the straight line drawn across a QRS unlike the template (read-only)."""
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    t.flags.writeable = False
    return t


def _residual(y: np.ndarray, fs: float, r: np.ndarray, dominant: np.ndarray) -> np.ndarray:
    """y (samples x leads) with the QRS complexes cancelled: template subtraction for dominant beats, a
    straight line across the others. Only the QRS: each QRS follows a flutter wave after a near-constant AV
    delay, so the flutter waves next to it are time-locked to it, and a whole-beat (QRST) template would cancel
    them too."""
    pre, post = int(0.07 * fs), int(0.10 * fs)
    res = y.copy()
    inside = (r - pre >= 0) & (r + post < y.shape[0])
    rr, dom = r[inside], dominant[inside]
    if rr.size == 0:
        return res
    idx = rr[:, None] + np.arange(-pre, post)[None, :]
    segs = gather.rows(y, idx)  # (beats, window, leads)
    use = segs[dom] if np.count_nonzero(dom) >= 3 else segs
    taper = _taper(pre + post)
    res[idx[dom]] -= median0(use) * taper
    other = idx[~dom]  # beats unlike the template: a straight line across the QRS
    if other.size:
        frac = _ramp(pre + post)
        res[other] = res[other[:, :1]] * (1.0 - frac) + res[other[:, -1:]] * frac
    return res


def _spectral(f: np.ndarray, p: np.ndarray, fs: float, fv: float) -> tuple[float, float]:
    """(dominant frequency in the atrial band, organisation index) from the residual's Welch spectrum (f, p);
    fv: ventricular rate, Hz (the peak's half-width stays below half the spacing of its harmonics)."""
    band = (f >= 2.0) & (f <= min(20.0, 0.5 * fs))
    total = float(p[band].sum()) + 1e-18
    atrial = (f >= ATRIAL_RATE_HZ[0] - 0.25) & (f <= ATRIAL_RATE_HZ[1] + 0.25)
    if not np.any(atrial):
        return 0.0, 0.0
    k = int(np.flatnonzero(atrial)[np.argmax(p[atrial])])
    # refine the peak by the power-weighted centre of the three bins around it
    lo, hi = max(k - 1, 0), min(k + 2, f.size)
    fd = float(np.sum(f[lo:hi] * p[lo:hi]) / (p[lo:hi].sum() + 1e-18))
    half = min(0.5, 0.45 * fv)
    harmonics = np.arange(1, int(20.0 // fd) + 1) * fd
    peak = np.min(np.abs(f[:, None] - harmonics[None, :]), axis=1) <= half
    return fd, float(p[peak & band].sum() / total)


def _continuity(res: np.ndarray, fs: float, r: np.ndarray, fd: float) -> float:
    """20th over 80th percentile of the residual's RMS in sliding one-atrial-cycle windows, in the T-Q spans.

    Flutter waves never stop (no isoelectric baseline), so that RMS hardly varies between the end of the T
    wave and the next QRS; in sinus rhythm the same span holds one P wave and flat baseline, and the ratio is
    small. Only T-Q spans with room for 1.5 flutter waves count; without four cycles' worth of them in the
    window (2:1 or 3:1 conduction at 100-150 /min) the measure is 0: there a P wave on the T wave mimics two
    flutter waves per beat."""
    w = max(int(round(fs / fd)), 3)
    local = np.sqrt(np.maximum(uniform_filter1d(res**2, w, mode="nearest"), 0.0))
    half = w // 2
    a, b = r[:-1], r[1:]
    t_end = a + ((0.18 + 0.2 * np.sqrt((b - a) / fs)) * fs).astype(np.int64)  # T end, rate-dependent
    q_on = b - int(round(0.07 * fs))
    s0, s1 = t_end + half, q_on - half  # window centres whose whole window lies in the T-Q span
    keep = (q_on - t_end >= 1.5 * w) & (s1 > s0)  # spans with room for 1.5 flutter waves
    edges = np.zeros(res.size + 1, dtype=np.int64)  # spans never overlap: a running sum marks them
    np.add.at(edges, s0[keep], 1)
    np.add.at(edges, s1[keep], -1)
    tq = np.cumsum(edges[:-1]) > 0
    if np.count_nonzero(tq) < 4 * w:
        return 0.0
    lo, hi = np.percentile(local[tq], [20, 80])
    return float(lo / (hi + 1e-18))


def band_leads(x: np.ndarray, fs: float, names: list[str], lead_ok: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(names, samples x leads) of the leads flutter is looked for in, band-passed 2-20 Hz once per record."""
    order = _lead_order(list(names), lead_ok)
    if not order or x.shape[0] <= 30:
        return [], np.zeros((x.shape[0], 0))
    return [names[j] for j in order], sosfiltfilt(_band(float(fs)), _columns(x, order))


def _columns(x: np.ndarray, order: list[int]) -> np.ndarray:
    """x[:, order], as a view where the columns are evenly spaced (e.g. [1, 0]): the filter copies them anyway."""
    step = order[1] - order[0] if len(order) > 1 else 1
    if step != 0 and order == list(range(order[0], order[0] + step * len(order), step)):
        stop = order[-1] + step
        return x[:, order[0] : (stop if stop >= 0 else None) : step]
    return x[:, order]


def measure(
    yb: np.ndarray, fs: float, names: list[str], r: np.ndarray, dominant: np.ndarray
) -> FlutterMeasure | None:
    """The most flutter-like lead's measures over one window. yb: band_leads() samples of the window,
    names: their lead names, r: R peaks in the window, dominant: beats like the window's QRS template."""
    if r.size < 4 or yb.shape[0] < int(4 * fs) or yb.shape[1] == 0:
        return None
    v_rate = 60.0 / float(median0(np.diff(r) / fs))
    # The residual is band-limited to 20 Hz: its spectrum and envelope are measured at ~60 Hz.
    q = max(1, int(fs // 60))
    fs_d, r_d = fs / q, r // q
    best: FlutterMeasure | None = None
    res = _residual(yb, fs, r, dominant)[::q]
    f, psd = welch(res, fs_d, int(4 * fs_d))
    psd = psd.reshape(f.size, -1)
    for j, lead in enumerate(names):
        fd, org = _spectral(f, psd[:, j], fs_d, v_rate / 60.0)
        if fd <= 0:
            continue
        m = FlutterMeasure(
            lead=lead,
            atrial_rate_bpm=60.0 * fd,
            organisation=org,
            continuity=1.0,  # measured below only where the other criteria hold
            residual_mv=float(np.sqrt(np.mean(res[:, j] ** 2))),
            ventricular_rate_bpm=v_rate,
            conduction_ratio=60.0 * fd / v_rate,
        )
        m.continuity = _continuity(res[:, j], fs_d, r_d, fd) if m.is_flutter else 0.0
        if best is None or (m.is_flutter, m.organisation) > (best.is_flutter, best.organisation):
            best = m
    return best
