"""Train a small 1-D U-Net that labels each sample of a beat window P / QRS / T / none (QT Database `.q1c` marks).

    python -m dualsign.analyzers.ecg.training.train_delineation --folds 5 --seed 20261203   # fold models (cache)
    python -m dualsign.analyzers.ecg.training.train_delineation --all --seed 20261203 \\
        --out dualsign/analyzers/ecg/weights/delineation.onnx                               # the all-55 model

Input: both leads of the prepared signal (`delineate.prepare`: 0.5-40 Hz) from 576 ms before to 832 ms after our
detected R at 250 Hz (the longest marked PR and QT of the database fit), each lead divided by its largest absolute
value in the window. Output: per sample, logits of none / P / QRS / T. Labels: P from P onset to P offset, QRS from
QRS onset to offset, T from QRS offset to T end (the T onset is rarely marked, so the ST segment counts as T).
The loss is taken only inside the marked beat's span (P onset - 40 ms to T end + 40 ms): outside it the neighbours
are not marked. A beat with no P marks is a beat without a P wave (AF, paced, ectopic: the annotator marks every
visible P wave); its span starts 240 ms before its QRS onset. A beat with neither P nor T-end marks (sel35, sel37:
the annotator marked only the QRS) teaches the QRS only.

Folds: by record, fixed by the seed; the two pairs of European ST-T records that may come from one person
(DATA.md) stay in one fold. Fold models go to the cache folder; `benchmarks/ecg_delineation_cnn_eval.py` scores
them. Training is deterministic: one CPU thread, seeds fixed (a fold retrained gives the same weights).

Held out, the CNN is worse than the rule-based delineator for every boundary (see the benchmark's docstring), and
takes ~0.5-1.0 s for the ~2,000 beats of a 30-min record on one thread: no model is shipped.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import inspect
import json
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage
from torch import nn
from torch.nn import functional as F

from dualsign.analyzers.ecg.delineate import prepare
from dualsign.analyzers.ecg.read import read_ecg
from dualsign.analyzers.ecg.training import common

FS = 250.0  # the model's rate (the QT Database's)
BEFORE = 144  # window samples before R (576 ms: the longest marked PR of the database fits)
AFTER = 208  # and from R on (832 ms: the longest marked QT)
L = BEFORE + AFTER  # divisible by 8 (three halvings in the network)
CLASSES = ("none", "P", "QRS", "T")
NONE, P, QRS, T = range(4)
# Runs of one wave separated by at most this many samples are one wave: a wide QRS is sometimes labelled QRS and T
# in turn, a flat T wave T and none.
P_GAP, QRS_GAP, T_GAP = 3, 8, 10
QRS_NEAR = 15  # the QRS run must reach within 60 ms of R
P_MIN = 5  # a P run shorter than 20 ms is no P wave
DATA = Path("/work/shared/data/ecg/qtdb")
SEED = 20261203
SHIFT = 8  # time-shift augmentation: +-32 ms around our R (also covers the detector's jitter)
MARGIN = 10  # 40 ms of loss beyond the marked span
NO_P = 60  # a beat without P marks: its span starts 240 ms before the QRS onset
# European ST-T records that may come from one person (same age, sex, diagnoses; adjacent numbers): one fold.
GROUPS = (("sele0121", "sele0122"), ("sele0124", "sele0126"))
CONFIGS: dict[str, dict[str, Any]] = {
    # v1: the first, pre-set run
    "v1": {"widths": [8, 16, 24, 32], "kernel": 9, "epochs": 60, "batch": 32, "lr": 3e-3, "weight_decay": 1e-4},
    # v2, after v1's held-out T ends failed grossly in 11 % of beats: time stretch and lead polarity augmentation
    "v2": {"widths": [8, 16, 24, 32], "kernel": 9, "epochs": 60, "batch": 32, "lr": 3e-3, "weight_decay": 1e-4,
           "stretch": 0.15, "flip": 0.5},
}
CONFIG = CONFIGS["v2"]


# ------------------------------------------------------------------------------------------------ inference
# Windows, labels -> boundaries and the ONNX call: numpy and onnxruntime only, shared by training (windows) and
# benchmarks/ecg_delineation_cnn_eval.py (predict). Boundaries are read off the labels nearest R: the QRS run at
# (or nearest to) R, the first T run after it, the last P run before it.
def windows(xf: np.ndarray, fs: float, r: np.ndarray, before: int = BEFORE, after: int = AFTER) -> np.ndarray:
    """(beats, 2, before + after) float32: the first two leads around each R, resampled to FS (linear; the
    prepared signal has nothing above 40 Hz). One lead is used twice."""
    n = xf.shape[0]
    x2 = xf[:, :2] if xf.shape[1] >= 2 else np.repeat(xf[:, :1], 2, axis=1)
    pos = np.clip(np.asarray(r, np.float64)[:, None] + np.arange(-before, after)[None, :] * (fs / FS), 0, n - 1)
    i0 = np.floor(pos).astype(np.int64)
    frac = (pos - i0)[..., None]
    w = x2[i0] * (1.0 - frac) + x2[np.minimum(i0 + 1, n - 1)] * frac  # (beats, samples, 2)
    return np.ascontiguousarray(w.transpose(0, 2, 1), dtype=np.float32)


def normalise(w: np.ndarray) -> np.ndarray:
    """Each lead of each window divided by its largest absolute value."""
    return np.asarray(w / np.maximum(np.abs(w).max(axis=2, keepdims=True), 1e-6), dtype=np.float32)


def _close(mask: np.ndarray, gap: int) -> np.ndarray:
    """Fill gaps of at most `gap` samples along the window axis (edges padded, so they are not eroded)."""
    pad = np.pad(mask, ((0, 0), (gap, gap)), mode="edge")
    out = ndimage.binary_closing(pad, structure=np.ones((1, gap + 1), bool))
    return np.asarray(out[:, gap:-gap], dtype=bool)


def decode(lab: np.ndarray, w: np.ndarray) -> dict[str, np.ndarray]:
    """Boundaries in window samples (-1 where none) from per-sample labels (beats, L) and the windows (for the
    P and T peaks: the largest deflection of the wave from its onset level, summed over the leads)."""
    nb, n = lab.shape
    ar = np.arange(n)[None, :]
    q, t, p = _close(lab == QRS, QRS_GAP), _close(lab == T, T_GAP), _close(lab == P, P_GAP)
    dist = np.where(q, np.abs(ar - BEFORE), n)
    a = dist.argmin(axis=1)[:, None]
    has_q = dist.min(axis=1) <= QRS_NEAR
    qon = np.where(~q & (ar < a), ar, -1).max(axis=1) + 1
    qoff = np.where(~q & (ar > a), ar, n).min(axis=1) - 1
    # T: the first T run after the QRS offset, starting before the next beat's QRS
    nxt = np.where(q & (ar > qoff[:, None] + 1), ar, n).min(axis=1)
    ts = np.where(t & (ar > qoff[:, None]), ar, n).min(axis=1)
    te = np.where(~t & (ar > ts[:, None]), ar, n).min(axis=1) - 1
    has_t = has_q & (ts < nxt) & (te < n - 1)
    # P: the last P run before the QRS onset, after anything else labelled before it (the previous beat)
    other = (q | t) & ~p & (ar < qon[:, None])
    last_other = np.where(other, ar, -1).max(axis=1)
    pe = np.where(p & (ar < qon[:, None]) & (ar > last_other[:, None]), ar, -1).max(axis=1)
    ps = np.maximum(np.where(~p & (ar < pe[:, None]), ar, -1).max(axis=1), last_other) + 1
    has_p = has_q & (pe >= 0) & (pe - ps + 1 >= P_MIN) & (ps > 0)
    p_peak = _peak(w, ps, pe)
    t_peak = _peak(w, qoff + 1, te)

    def keep(v: np.ndarray, ok: np.ndarray) -> np.ndarray:
        return np.where(ok, v, -1).astype(np.int64)

    return {
        "p_on": keep(ps, has_p), "p_peak": keep(p_peak, has_p), "p_off": keep(pe, has_p),
        "qrs_on": keep(qon, has_q), "qrs_off": keep(qoff, has_q),
        "t_peak": keep(t_peak, has_t), "t_off": keep(te, has_t), "p_present": has_p,
    }


def _peak(w: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Per window: the sample in [start, stop] deviating most from the level at start (summed over leads)."""
    n = w.shape[2]
    s = np.clip(start, 0, n - 1)
    dev = np.abs(w - np.take_along_axis(w, s[:, None, None].repeat(w.shape[1], axis=1), axis=2)).sum(axis=1)
    ar = np.arange(n)[None, :]
    inside = (ar >= s[:, None]) & (ar <= stop[:, None])
    return np.where(inside, dev, -1.0).argmax(axis=1)


@lru_cache(maxsize=4)
def _session(path: str) -> Any:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


def predict(x_prepared: np.ndarray, fs: float, r_peaks: np.ndarray, model: str) -> dict[str, Any]:
    """Boundaries per beat, record sample indices (-1 where not found), with the keys of `delineate()`'s
    Boundaries; p_present is bool. x_prepared: `delineate.prepare` output (n, leads), the first two leads used.
    model: an exported ONNX file. All beats go through the network in one call (what a runtime delineator
    would run: numpy and onnxruntime, one thread)."""
    r = np.asarray(r_peaks, dtype=np.int64)
    keys = ("p_on", "p_peak", "p_off", "qrs_on", "qrs_off", "t_peak", "t_off")
    if r.size == 0:
        return {**{k: np.zeros(0, np.int64) for k in keys}, "p_present": np.zeros(0, bool)}
    w = normalise(windows(x_prepared, fs, r))
    sess = _session(model)
    logits = np.asarray(sess.run(None, {sess.get_inputs()[0].name: w})[0])
    out = decode(logits.argmax(axis=1), w)
    n = x_prepared.shape[0]
    for k in keys:
        v = out[k]
        rec = np.clip(r + np.round((v - BEFORE) * (fs / FS)).astype(np.int64), 0, n - 1)
        out[k] = np.where(v >= 0, rec, -1)
    return out


# ------------------------------------------------------------------------------------------------ network
class ConvBlock(nn.Sequential):
    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__(nn.Conv1d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU(),
                         nn.Conv1d(cout, cout, k, padding=k // 2, bias=False), nn.BatchNorm1d(cout), nn.ReLU())


class UNet(nn.Module):
    """Encoder halving the rate at each level, decoder with skip connections back to the input rate."""

    def __init__(self, cfg: dict[str, Any] = CONFIG) -> None:
        super().__init__()
        w = [int(v) for v in cfg["widths"]]
        k = int(cfg["kernel"])
        self.enc = nn.ModuleList([ConvBlock(a, b, k) for a, b in zip([2, *w[:-2]], w[:-1], strict=True)])
        self.bottom = ConvBlock(w[-2], w[-1], k)
        self.up = nn.ModuleList([nn.ConvTranspose1d(w[i + 1], w[i], 2, stride=2) for i in range(len(w) - 1)])
        self.dec = nn.ModuleList([ConvBlock(2 * w[i], w[i], k) for i in range(len(w) - 1)])
        self.head = nn.Conv1d(w[0], len(CLASSES), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.enc:
            x = block(x)
            skips.append(x)
            x = F.max_pool1d(x, 2)
        x = self.bottom(x)
        for i in reversed(range(len(self.dec))):
            x = self.dec[i](torch.cat([self.up[i](x), skips[i]], dim=1))
        return self.head(x)


# ------------------------------------------------------------------------------------------------ data
def _reference(path: Path) -> list[dict[str, int]]:
    """The benchmark's `.q1c` parser (benchmarks/ecg_delineation_eval.py), so training and scoring read the
    same marks."""
    src = Path(__file__).resolve().parents[4] / "benchmarks" / "ecg_delineation_eval.py"
    spec = importlib.util.spec_from_file_location("ecg_delineation_eval", src)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out: list[dict[str, int]] = mod.reference(path)
    return out


@dataclass
class RecordBeats:
    """One record's marked beats: wide windows (SHIFT more on each side) of the prepared signal around the
    centre (our matched R, else the marked QRS peak), their labels and loss masks."""

    x: np.ndarray  # (nb, 2, L + 2 SHIFT) float32, not normalised
    y: np.ndarray  # (nb, L + 2 SHIFT) int64
    m: np.ndarray  # (nb, L + 2 SHIFT) bool


def label_beat(bt: dict[str, int], centre: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and loss mask of one marked beat in the wide window around centre."""
    width = L + 2 * SHIFT
    off = centre - BEFORE - SHIFT
    y = np.zeros(width, dtype=np.int64)
    m = np.zeros(width, dtype=bool)

    def put(arr: np.ndarray, a: int, b: int, v: Any) -> None:  # inclusive record samples a..b
        arr[max(a - off, 0) : max(min(b - off + 1, width), 0)] = v

    has_p = "p_on" in bt and "p_off" in bt
    has_t = "t_off" in bt
    if has_p:
        start = bt["p_on"] - MARGIN
    elif not has_t or "p_on" in bt or "p_off" in bt:
        start = bt["qrs_on"] - MARGIN  # only the QRS was marked (or half a P wave): nothing known before it
    else:
        start = bt["qrs_on"] - NO_P - MARGIN
    end = bt["t_off"] + MARGIN if has_t else bt["qrs_off"]
    put(m, start, end, True)
    if has_p:
        put(y, bt["p_on"], bt["p_off"], P)
    if has_t:
        put(y, bt["qrs_off"] + 1, bt["t_off"], T)
    put(y, bt["qrs_on"], bt["qrs_off"], QRS)
    return y, m


def match(det: np.ndarray, ref: list[dict[str, int]], fs: float) -> np.ndarray:
    """Index of the detected beat matched to each marked beat (as ecg_delineation_eval), -1 where none."""
    out = np.full(len(ref), -1, dtype=np.int64)
    for i, beat in enumerate(ref):
        j = int(np.argmin(np.abs(det - beat["qrs"])))
        if abs(int(det[j]) - beat["qrs"]) <= 0.1 * fs:
            out[i] = j
    return out


def record_beats(data: Path, rec: str) -> RecordBeats:
    """Windows, labels and masks of a record's marked beats (cached on disk)."""
    key = hashlib.sha256((inspect.getsource(label_beat) + inspect.getsource(windows)
                          + f"{SHIFT}:{MARGIN}:{NO_P}:{BEFORE}:{AFTER}").encode()).hexdigest()[:10]
    f = common.CACHE / "delineation" / key / f"{rec}.npz"
    if f.exists():
        z = np.load(f)
        return RecordBeats(z["x"], z["y"], z["m"])
    ecg = read_ecg(data / rec)
    ref = [bt for bt in _reference(data / rec) if "qrs_on" in bt and "qrs_off" in bt]
    det = common.detect(ecg.signal, ecg.fs, f"qtdb_{rec}")
    j = match(det, ref, ecg.fs)
    centre = np.asarray([det[k] if k >= 0 else bt["qrs"] for k, bt in zip(j, ref, strict=True)], dtype=np.int64)
    x = windows(prepare(ecg.signal, ecg.fs), ecg.fs, centre, BEFORE + SHIFT, AFTER + SHIFT)
    ym = [label_beat(bt, int(c)) for bt, c in zip(ref, centre, strict=True)]
    out = RecordBeats(x, np.stack([a for a, _ in ym]), np.stack([b for _, b in ym]))
    f.parent.mkdir(parents=True, exist_ok=True)
    np.savez(f, x=out.x, y=out.y, m=out.m)
    return out


def fold_records(records: list[str], n_folds: int, seed: int) -> list[list[str]]:
    """Records per fold: the groups (GROUPS, else one record each) shuffled by the seed, each given to the fold
    with the fewest records so far."""
    units = [[r for r in g if r in records] for g in GROUPS]
    units = [u for u in units if u]
    grouped = {r for u in units for r in u}
    units += [[r] for r in sorted(records) if r not in grouped]
    rng = np.random.default_rng(seed)
    folds: list[list[str]] = [[] for _ in range(n_folds)]
    for i in rng.permutation(len(units)):
        min(folds, key=len).extend(units[i])
    return [sorted(f) for f in folds]


# ------------------------------------------------------------------------------------------------ training
def _batch(beats: RecordBeats, b: np.ndarray, rng: np.random.Generator, cfg: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """Augmented, normalised inputs with their labels and masks: time shift (and, with cfg["stretch"], a time
    stretch about R: other heart rates and QT intervals), lead swap, baseline wander, noise, per-lead amplitude
    scale (after normalisation, so that it survives it) and, with cfg["flip"], per-lead polarity (the leads'
    P and T polarities differ between recordings)."""
    nb, width = b.size, L
    s = rng.integers(0, 2 * SHIFT + 1, nb)
    stretch = float(cfg.get("stretch", 0.0))
    if stretch > 0:
        k = np.exp(rng.uniform(-np.log1p(stretch), np.log1p(stretch), (nb, 1)))
        x, y, m = _stretched(beats, b, s, k)
    else:
        cols = s[:, None] + np.arange(width)[None, :]
        x = np.take_along_axis(beats.x[b], cols[:, None, :], axis=2)
        y = np.take_along_axis(beats.y[b], cols, axis=1)
        m = np.take_along_axis(beats.m[b], cols, axis=1)
    swap = rng.random(nb) < 0.5
    x[swap] = x[swap][:, ::-1]
    x = normalise(x)
    t = np.arange(width) / FS
    f = rng.uniform(0.05, 0.6, (nb, 2, 1))
    x += rng.uniform(0.0, 0.2, (nb, 2, 1)) * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (nb, 2, 1)))
    x += rng.uniform(0.0, 0.05, (nb, 2, 1)) * rng.standard_normal(x.shape)
    x *= np.exp(rng.uniform(np.log(0.6), np.log(1.6), (nb, 2, 1)))
    flip = float(cfg.get("flip", 0.0))
    if flip > 0:
        x *= np.where(rng.random((nb, 2, 1)) < flip, -1.0, 1.0)
    return x.astype(np.float32), y, m


def _stretched(
    beats: RecordBeats, b: np.ndarray, s: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows read with time scaled by k about R (shifted by s - SHIFT): signal interpolated, labels and mask
    from the nearest sample; samples read from beyond the wide window carry no loss."""
    wide = beats.x.shape[2]
    pos = (BEFORE + s[:, None]) + (np.arange(L)[None, :] - BEFORE) * k
    inside = (pos >= 0) & (pos <= wide - 1)
    pos = np.clip(pos, 0, wide - 1)
    i0 = np.minimum(np.floor(pos).astype(np.int64), wide - 2)
    frac = (pos - i0)[:, None, :]
    xb = beats.x[b]
    x = np.take_along_axis(xb, i0[:, None, :], axis=2) * (1 - frac) + np.take_along_axis(
        xb, i0[:, None, :] + 1, axis=2) * frac
    near = np.rint(pos).astype(np.int64)
    y = np.take_along_axis(beats.y[b], near, axis=1)
    m = np.take_along_axis(beats.m[b], near, axis=1) & inside
    return x, y, m


def train(beats: RecordBeats, seed: int, cfg: dict[str, Any] = CONFIG, log: str = "") -> UNet:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = UNet(cfg)
    opt = torch.optim.AdamW(net.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    nb, bs, epochs = beats.x.shape[0], int(cfg["batch"]), int(cfg["epochs"])
    steps = epochs * int(np.ceil(nb / bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(cfg["lr"]), total_steps=steps, pct_start=0.2)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        tot = 0.0
        order = rng.permutation(nb)
        for i in range(0, nb, bs):
            x, y, m = _batch(beats, order[i : i + bs], rng, cfg)
            opt.zero_grad()
            ce = F.cross_entropy(net(torch.from_numpy(x)), torch.from_numpy(y), reduction="none")
            mt = torch.from_numpy(m).float()
            loss = (ce * mt).sum() / mt.sum().clamp(min=1.0)
            loss.backward()
            opt.step()
            sched.step()
            tot += float(loss.item()) * x.shape[0]
        if ep % 10 == 9 or ep == epochs - 1:
            print(f"{log}epoch {ep + 1}/{epochs} loss {tot / nb:.4f} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    return net


def export(net: UNet, path: Path) -> Path:
    """ONNX with a dynamic batch axis: (beats, 2, L) -> (beats, 4, L) logits."""
    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, 2, L)
    torch.onnx.export(net, (dummy,), str(path), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {0: "beats"}, "logits": {0: "beats"}}, opset_version=17, dynamo=False)
    return path


def concat(parts: list[RecordBeats]) -> RecordBeats:
    return RecordBeats(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("x", "y", "m")))


def config_key(cfg: dict[str, Any], seed: int) -> str:
    """Names the cached fold models: network, training, labels, settings and seed."""
    src = "".join(inspect.getsource(o) for o in (UNet, ConvBlock, train, _batch, _stretched, label_beat,
                                                   windows, normalise))
    return hashlib.sha256((src + json.dumps(cfg, sort_keys=True) + str(seed)).encode()).hexdigest()[:10]


def fold_path(k: int, seed: int, cfg: dict[str, Any] = CONFIG) -> Path:
    return common.CACHE / "delineation_cnn" / config_key(cfg, seed) / f"fold{k}.onnx"


def cross_validate(data: Path, n_folds: int, seed: int, cfg: dict[str, Any] = CONFIG) -> list[list[str]]:
    """Train (or find in the cache) each fold's model on the other folds' records; returns the folds."""
    records = sorted((data / "RECORDS").read_text().split())
    folds = fold_records(records, n_folds, seed)
    beats = {r: record_beats(data, r) for r in records}
    paths = [fold_path(k, seed, cfg) for k in range(n_folds)]  # named before training starts
    for k, test in enumerate(folds):
        path = paths[k]
        if path.exists():
            continue
        tr = concat([beats[r] for r in records if r not in test])
        t0 = time.time()
        export(train(tr, seed, cfg, log=f"fold {k} "), path)
        print(f"fold {k}: {tr.x.shape[0]} training beats, {time.time() - t0:.0f} s -> {path}", flush=True)
    return folds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="v2")
    ap.add_argument("--all", action="store_true", help="train on all records and export to --out")
    ap.add_argument("--out", type=Path, default=Path("dualsign/analyzers/ecg/weights/delineation.onnx"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = CONFIGS[args.config]
    print(f"config {args.config} {config_key(cfg, args.seed)} {json.dumps(cfg)}; params "
          f"{sum(p.numel() for p in UNet(cfg).parameters())}", flush=True)
    if not args.all:
        for k, f in enumerate(cross_validate(args.data, args.folds, args.seed, cfg)):
            print(f"fold {k}: {' '.join(f)}")
        return 0
    records = sorted((args.data / "RECORDS").read_text().split())
    beats = concat([record_beats(args.data, r) for r in records])
    t0 = time.time()
    export(train(beats, args.seed, cfg, log="all "), args.out)
    print(f"all {len(records)} records, {beats.x.shape[0]} beats, {time.time() - t0:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
