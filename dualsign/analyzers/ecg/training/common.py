"""Shared helpers for training: data loading, the runtime QRS detector (cached), ONNX export, card.json."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

from dualsign.analyzers.ecg.beat_classes import WEIGHTS_DIR, aami_of_symbol, sha256_file

CACHE = Path(os.environ.get("DUALSIGN_ECG_CACHE", "/tmp/dualsign_ecg_cache"))
CARD = WEIGHTS_DIR / "card.json"
SEED = 20240
# MIT-BIH DS1 (de Chazal 2004) plus the paced record 104; signals exist for SIGNAL_RECORDS only.
DS1 = (
    "101",
    "106",
    "108",
    "109",
    "112",
    "114",
    "115",
    "116",
    "118",
    "119",
    "122",
    "124",
    "201",
    "203",
    "205",
    "207",
    "208",
    "209",
    "215",
    "220",
    "223",
    "230",
)
SIGNAL_RECORDS = ("104", "106", "108", "116", "119", "223")


def detector_id() -> str:
    """Name + hash of the QRS detector the analyzer ships (features are trained on its peaks)."""
    path = Path(__file__).resolve().parents[1] / "detect.py"
    return "dualsign.analyzers.ecg.detect@" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def detect(sig: np.ndarray, fs: float, key: str) -> np.ndarray:
    """Runtime detector's R peaks, cached on disk per detector version."""
    from dualsign.analyzers.ecg.detect import detect_qrs

    f = CACHE / "peaks" / detector_id() / f"{key}.npy"
    if f.exists():
        return np.asarray(np.load(f))
    peaks = np.asarray(detect_qrs(sig, fs), dtype=np.int64)
    f.parent.mkdir(parents=True, exist_ok=True)
    np.save(f, peaks)
    return peaks


def p_wave_present(sig: np.ndarray, fs: float, names: list[str], peaks: np.ndarray) -> np.ndarray:
    """P wave found before each beat, exactly as the analyzer delineates it (anchors the dominant template)."""
    from dualsign.analyzers.ecg import qc
    from dualsign.analyzers.ecg.delineate import delineate, prepare

    x = sig - np.median(sig, axis=0)
    xf = prepare(x, fs)
    quality, _ = qc.assess(x, xf, fs, names, peaks)
    return np.asarray(delineate(xf, fs, peaks, quality.lead_ok).p_present, dtype=bool)


# --------------------------------------------------------------------------------------------- MIT-BIH
def read_annotation_text(path: Path) -> tuple[np.ndarray, list[str]]:
    """(sample indices, beat symbols) of the beat annotations in a `rdann` text listing."""
    samples: list[int] = []
    syms: list[str] = []
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) < 3 or not parts[1].isdigit():
            continue
        if aami_of_symbol(parts[2]) is not None:
            samples.append(int(parts[1]))
            syms.append(parts[2])
    return np.asarray(samples, dtype=np.int64), syms


def load_mitdb(data: Path, rec: str) -> tuple[np.ndarray, float, list[str], np.ndarray, list[str]]:
    """(signal mV (n, leads), fs, lead names, reference beat samples, AAMI labels)."""
    import wfdb

    r = wfdb.rdrecord(str(data / "mitdb" / rec))
    ann = wfdb.rdann(str(data / "mitdb" / rec), "atr")
    keep = [i for i, s in enumerate(ann.symbol) if aami_of_symbol(s) is not None]
    samples = np.asarray(ann.sample, dtype=np.int64)[keep]
    labels = [str(aami_of_symbol(ann.symbol[i])) for i in keep]
    return np.asarray(r.p_signal, dtype=np.float64), float(r.fs), list(r.sig_name), samples, labels


def match_peaks(ref: np.ndarray, det: np.ndarray, tol: int) -> np.ndarray:
    """For each reference beat, the index of the nearest detected peak within tol samples, or -1."""
    out = np.full(ref.size, -1, dtype=np.int64)
    if det.size == 0:
        return out
    j = np.clip(np.searchsorted(det, ref), 1, det.size - 1)
    left, right = det[j - 1], det[j]
    pick = np.where(np.abs(ref - left) <= np.abs(ref - right), j - 1, j)
    ok = np.abs(det[pick] - ref) <= tol
    out[ok] = pick[ok]
    # One detection may serve one reference beat only.
    used: set[int] = set()
    for i in np.argsort(np.abs(det[np.maximum(out, 0)] - ref)):
        if out[i] >= 0:
            if int(out[i]) in used:
                out[i] = -1
            else:
                used.add(int(out[i]))
    return out


# ------------------------------------------------------------------------------------------- CinC 2017
def cinc_dir(data: Path) -> Path:
    """Unpacked CinC 2017 folder (unpacks the shipped archive into the cache on first use)."""
    for cand in (data / "cinc2017", Path("/tmp/ecgdata/cinc2017"), CACHE / "cinc2017"):
        if (cand / "REFERENCE.csv").exists():
            return cand
    CACHE.mkdir(parents=True, exist_ok=True)
    with tarfile.open(data / "cinc2017.tar.xz") as t:
        t.extractall(CACHE, filter="data")
    return CACHE / "cinc2017"


def cinc_reference(data: Path) -> list[tuple[str, str]]:
    lines = (cinc_dir(data) / "REFERENCE.csv").read_text().splitlines()
    return [(ln.split(",")[0], ln.split(",")[1]) for ln in lines[1:] if ln.strip()]


def load_cinc(data: Path, rec: str) -> tuple[np.ndarray, float]:
    import wfdb

    r = wfdb.rdrecord(str(cinc_dir(data) / rec))
    return np.asarray(r.p_signal, dtype=np.float64), float(r.fs)


# ------------------------------------------------------------------------------------------ export/card
def export_onnx(model: Any, n_features: int, name: str) -> Path:
    import skl2onnx.common._container as container
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    # skl2onnx writes Python bools into integer attributes of tree leaves (rejected by onnx); cast them.
    orig = container.make_node

    def make_node(*a: Any, **kw: Any) -> Any:
        kw = {k: [int(v) if isinstance(v, (bool, np.bool_)) else v for v in val] if isinstance(val, list) else val
              for k, val in kw.items()}
        return orig(*a, **kw)

    container.make_node = make_node
    try:
        onx = convert_sklearn(model, initial_types=[("x", FloatTensorType([None, n_features]))],
                              options={id(model): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    finally:
        container.make_node = orig
    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    out = WEIGHTS_DIR / name
    out.write_bytes(onx.SerializeToString())
    return out


def update_card(section: str, payload: dict[str, Any]) -> None:
    """Merge one section into weights/card.json and refresh the sha256 of every shipped weight file."""
    card: dict[str, Any] = json.loads(CARD.read_text()) if CARD.exists() else {}
    card[section] = payload
    card["weights_sha256"] = {p.name: sha256_file(p) for p in sorted(WEIGHTS_DIR.glob("*.onnx"))}
    CARD.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")


def per_class_stats(y_true: list[str], y_pred: list[str], classes: tuple[str, ...]) -> dict[str, Any]:
    """Confusion matrix (rows = reference) with Se and +P per class."""
    idx = {c: i for i, c in enumerate(classes)}
    cm = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(y_true, y_pred, strict=True):
        cm[idx[t], idx[p]] += 1
    stats: dict[str, Any] = {"classes": list(classes), "confusion": cm.tolist(), "per_class": {}}
    for c, i in idx.items():
        tp = int(cm[i, i])
        se = tp / cm[i].sum() if cm[i].sum() else None
        pp = tp / cm[:, i].sum() if cm[:, i].sum() else None
        stats["per_class"][c] = {"n": int(cm[i].sum()), "se": se, "ppv": pp}
    return stats
