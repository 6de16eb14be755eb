"""Train and evaluate the rhythm CNN (raw rhythm lead) next to the feature model on CinC 2017; export to ONNX.

    python -m dualsign.analyzers.ecg.training.train_rhythm_cnn --data /work/shared/data/ecg [--no-export]

Input: the rhythm lead's 0.5-40 Hz signal (rhythm_model.cnn_input: resampled to 100 Hz, scaled by the typical beat
amplitude). Network: a stem convolution and five residual blocks, each halving the rate, then global average and
max pooling (any length) and a linear layer to the four CinC classes. Class-weighted cross-entropy, random crops,
random gain, polarity flips (handheld leads are often reversed) and small noise. One CPU thread, seeds fixed.

Protocol: the 5 folds of train_rhythm (StratifiedKFold, shuffle, seed common.SEED, over all_features' order).
For each fold the CNN and the feature model train on the other four folds and score the held-out one; reported:
(a) features alone, (b) CNN alone, (c) the fixed 0.5/0.5 average. Out-of-fold probabilities and the fold ONNX files
go to the cache folder. The shipped CNN trains on all 4000 records.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.model_selection import StratifiedKFold
from torch import nn
from torch.nn import functional as F

from dualsign.analyzers.ecg import beat_classes as bc
from dualsign.analyzers.ecg import rhythm_model as rm
from dualsign.analyzers.ecg.training import common, train_rhythm

WIDTHS = (24, 32, 48, 64, 64)
CONFIG: dict[str, Any] = {"stem": 16, "widths": list(WIDTHS), "kernel": 7, "crop_s": 20.0, "batch": 32,
                          "epochs": 30, "lr": 3e-3, "weight_decay": 1e-3, "balance_power": 0.5, "dropout": 0.2,
                          "label_smoothing": 0.05}
MIN_GAIN = 0.005  # ship only when the average beats the feature model alone by this much (out of fold)


class Block(nn.Module):
    """Two convolutions with a stride-2 entry and a 1x1 strided shortcut."""

    def __init__(self, cin: int, cout: int, k: int) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(cin, cout, k, stride=2, padding=k // 2, bias=False)
        self.b1 = nn.BatchNorm1d(cout)
        self.c2 = nn.Conv1d(cout, cout, k, padding=k // 2, bias=False)
        self.b2 = nn.BatchNorm1d(cout)
        self.skip = nn.Sequential(nn.Conv1d(cin, cout, 1, stride=2, bias=False), nn.BatchNorm1d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.b1(self.c1(x)))
        return F.relu(self.b2(self.c2(h)) + self.skip(x))


class RhythmCNN(nn.Module):
    def __init__(self, cfg: dict[str, Any] = CONFIG) -> None:
        super().__init__()
        k = int(cfg["kernel"])
        self.stem = nn.Sequential(nn.Conv1d(1, cfg["stem"], 9, stride=2, padding=4, bias=False),
                                  nn.BatchNorm1d(cfg["stem"]), nn.ReLU())
        chans = [int(cfg["stem"]), *[int(w) for w in cfg["widths"]]]
        self.blocks = nn.Sequential(*[Block(a, b, k) for a, b in zip(chans[:-1], chans[1:], strict=True)])
        self.drop = nn.Dropout(float(cfg["dropout"]))
        self.head = nn.Linear(2 * chans[-1], len(rm.RHYTHM_CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x))
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1)
        return self.head(self.drop(pooled))


# ------------------------------------------------------------------------------------------------ data
def _input_hash() -> str:
    h = hashlib.sha256()
    for fn in (rm.cnn_input, bc.bandpass, bc._bandpass):
        h.update(inspect.getsource(fn).encode())
    h.update(f"{rm.CNN_FS}:{rm.CNN_CLIP}".encode())
    return h.hexdigest()[:12]


def all_inputs(data: Path, recs: list[str]) -> list[np.ndarray]:
    """cnn_input of every record's lead (the CinC recordings are single-lead), cached on disk."""
    cache = common.CACHE / f"cnn_inputs_{_input_hash()}.npz"
    if cache.exists():
        z = np.load(cache)
        return [z[r] for r in recs]
    out = {}
    for rec in recs:
        sig, fs = common.load_cinc(data, rec)
        band = rm.record_bands(sig, fs, ["I"])[0]
        out[rec] = rm.cnn_input(band, fs)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)  # type: ignore[arg-type]
    return [out[r] for r in recs]


def _batches(xs: list[np.ndarray], idx: np.ndarray, rng: np.random.Generator, crop: int,
             batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shuffled batches of random crops (each batch cropped to its shortest record, so no padding), with
    random gain, polarity and noise."""
    order = rng.permutation(idx)
    out = []
    for s in range(0, order.size, batch):
        b = order[s:s + batch]
        n = min(crop, min(xs[i].size for i in b))
        arr = np.empty((b.size, 1, n), dtype=np.float32)
        for j, i in enumerate(b):
            a = int(rng.integers(0, xs[i].size - n + 1))
            arr[j, 0] = xs[i][a:a + n]
        arr *= np.asarray(rng.uniform(0.8, 1.25, (b.size, 1, 1)), dtype=np.float32)
        arr *= np.where(rng.random((b.size, 1, 1)) < 0.5, -1.0, 1.0).astype(np.float32)
        arr += np.asarray(rng.normal(0.0, 0.02, arr.shape), dtype=np.float32)
        out.append((arr, b))
    return out


def train(xs: list[np.ndarray], y: np.ndarray, idx: np.ndarray, cfg: dict[str, Any] = CONFIG,
          log: str = "") -> RhythmCNN:
    torch.manual_seed(common.SEED)
    rng = np.random.default_rng(common.SEED)
    net = RhythmCNN(cfg)
    counts = np.bincount(y[idx], minlength=len(rm.RHYTHM_CLASSES)).astype(np.float64)
    w = (counts / counts.sum()) ** -float(cfg["balance_power"])
    w = w / (w * counts).sum() * counts.sum()  # mean weight over the training records = 1
    loss_fn = nn.CrossEntropyLoss(weight=torch.tensor(w, dtype=torch.float32),
                                  label_smoothing=float(cfg["label_smoothing"]))
    opt = torch.optim.AdamW(net.parameters(), lr=float(cfg["lr"]), weight_decay=float(cfg["weight_decay"]))
    epochs = int(cfg["epochs"])
    steps = epochs * int(np.ceil(idx.size / int(cfg["batch"])))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=float(cfg["lr"]), total_steps=steps, pct_start=0.2)
    yt = torch.as_tensor(y)
    crop = int(float(cfg["crop_s"]) * rm.CNN_FS)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        tot, n = 0.0, 0
        for arr, b in _batches(xs, idx, rng, crop, int(cfg["batch"])):
            opt.zero_grad()
            loss = loss_fn(net(torch.from_numpy(arr)), yt[b])
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * b.size
            n += b.size
        print(f"{log}epoch {ep + 1}/{epochs} loss {tot / n:.4f} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    return net


def export(net: RhythmCNN, path: Path) -> Path:
    """ONNX with a dynamic length axis (batch 1 x 1 channel x n samples at CNN_FS)."""
    net.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(1, 1, int(30 * rm.CNN_FS))
    torch.onnx.export(net, (dummy,), str(path), input_names=["x"], output_names=["logits"],
                      dynamic_axes={"x": {2: "n"}, "logits": {}}, opset_version=17, dynamo=False)
    return path


def predict(path: Path, xs: list[np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Softmax of the exported network over whole records (what the analyzer runs)."""
    sess = rm._cnn_session(str(path))
    out = np.zeros((idx.size, len(rm.RHYTHM_CLASSES)))
    for j, i in enumerate(idx):
        logits = np.asarray(sess.run(None, {"x": xs[i][None, None, :]})[0][0], dtype=np.float64)
        e = np.exp(logits - logits.max())
        out[j] = e / e.sum()
    return out


def _scores(y: np.ndarray, p: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, Any]:
    per_fold = [train_rhythm.f1_scores(y[te], p[te].argmax(1)) for _, te in folds]
    mean = {c: float(np.mean([f[c] for f in per_fold])) for c in per_fold[0]}
    cm = np.zeros((4, 4), dtype=int)
    for t, q in zip(y, p.argmax(1), strict=True):
        cm[t, q] += 1
    return {"cv_mean_over_folds": mean, "cv_pooled": train_rhythm.f1_scores(y, p.argmax(1)),
            "cv_per_fold": per_fold, "confusion": cm.tolist(), "calibration_p_af": train_rhythm.calibration_a(y, p)}


def _config_key(cfg: dict[str, Any]) -> str:
    """Names the cached fold models: network, settings and input preparation (change it by hand when train() or
    the augmentation change)."""
    src = inspect.getsource(RhythmCNN) + inspect.getsource(Block) + json.dumps(cfg, sort_keys=True) + _input_hash()
    return hashlib.sha256(src.encode()).hexdigest()[:10]


def fold_paths(cfg: dict[str, Any] = CONFIG) -> list[Path]:
    """Fold CNN ONNX files in the cache (fold k trained on the other four folds)."""
    return [common.CACHE / "rhythm_cnn" / _config_key(cfg) / f"fold{k}.onnx" for k in range(5)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="the ecg data folder (with cinc2017.tar.xz)")
    ap.add_argument("--no-export", action="store_true", help="cross-validate only; keep the shipped weights")
    ap.add_argument("--epochs", type=int, help="override the configured number of epochs")
    ap.add_argument("--folds", type=str, default="0,1,2,3,4", help="folds to run (all five for scores)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cfg = dict(CONFIG, **({"epochs": args.epochs} if args.epochs else {}))
    recs, x, y = train_rhythm.all_features(args.data)
    xs = all_inputs(args.data, recs)
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=common.SEED).split(x, y))
    print(f"config {_config_key(cfg)} {json.dumps(cfg)}; params "
          f"{sum(p.numel() for p in RhythmCNN(cfg).parameters())}", flush=True)
    p_feat = np.zeros((y.size, 4))
    p_cnn = np.zeros((y.size, 4))
    seconds: list[float] = []
    run = [int(k) for k in args.folds.split(",")]
    for k, (tr, te) in enumerate(folds):
        p_feat[te] = train_rhythm.fit(x[tr], y[tr]).predict_proba(x[te])
        path = fold_paths(cfg)[k]
        if k in run and not path.exists():
            t0 = time.time()
            export(train(xs, y, tr, cfg, log=f"fold {k} "), path)
            seconds.append(time.time() - t0)
        if not path.exists():
            continue
        p_cnn[te] = predict(path, xs, te)
        f = train_rhythm.f1_scores(y[te], p_cnn[te].argmax(1))
        print(f"fold {k} cnn: " + json.dumps({a: round(b, 4) for a, b in f.items()}), flush=True)
    done = [k for k in range(5) if fold_paths(cfg)[k].exists()]
    if len(done) < 5:
        print("folds with a CNN:", done, "- run the others for scores")
        return 0
    p_comb = np.stack([rm.combine(a, b) for a, b in zip(p_feat, p_cnn, strict=True)])
    res = {name: _scores(y, p, folds) for name, p in (("features", p_feat), ("cnn", p_cnn), ("combined", p_comb))}
    np.savez(fold_paths(cfg)[0].parent / "oof.npz", p_features=p_feat, p_cnn=p_cnn, p_combined=p_comb, y=y,
             records=np.asarray(recs))
    for name, r in res.items():
        print(f"{name:9s} mean over folds: " + json.dumps({a: round(b, 4) for a, b in r["cv_mean_over_folds"].items()}))
        print(f"{'':9s} per fold: " + ", ".join(f"{f['score_mean_f1_NAO']:.4f}" for f in r["cv_per_fold"]))
        print(f"{'':9s} confusion: {r['confusion']}")
    if seconds:
        print(f"training seconds per fold (1 thread): {', '.join(f'{s:.0f}' for s in seconds)}")
    gain = (res["combined"]["cv_mean_over_folds"]["score_mean_f1_NAO"]
            - res["features"]["cv_mean_over_folds"]["score_mean_f1_NAO"])
    print(f"combined - features: {gain:+.4f}")
    if args.no_export:
        return 0
    if gain < MIN_GAIN:
        print(f"the CNN does not raise the score by {MIN_GAIN}: not exported")
        return 0
    t0 = time.time()
    net = train(xs, y, np.arange(y.size), cfg, log="all ")
    export(net, bc.WEIGHTS_DIR / rm.CNN_MODEL)
    rm._cnn_session.cache_clear()
    common.update_card("rhythm_cnn", {
        "model": rm.CNN_MODEL, "classes": list(rm.RHYTHM_CLASSES), "config": cfg, "seed": common.SEED,
        "params": int(sum(p.numel() for p in net.parameters())), "input_fs_hz": rm.CNN_FS,
        "combination": f"p = {1 - rm.CNN_WEIGHT:.1f} x feature model + {rm.CNN_WEIGHT:.1f} x CNN (fixed)",
        "training_data": f"CinC 2017 training records in the data folder ({y.size}), same as the feature model",
        "training_seconds_all_records_1_thread": round(time.time() - t0, 1),
        "protocol": "stratified 5-fold cross-validation by record, the folds of the feature model "
                    f"(StratifiedKFold shuffle, seed {common.SEED}); each fold's CNN and feature model train on the "
                    "other four folds; F1 per class; score = mean F1 of N, A, O",
        "cv_features_alone": res["features"], "cv_cnn_alone": res["cnn"], "cv_combined": res["combined"],
        "command": "python -m dualsign.analyzers.ecg.training.train_rhythm_cnn --data /work/shared/data/ecg",
    })
    print("exported", rm.CNN_MODEL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
