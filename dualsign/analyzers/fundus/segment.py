"""The lesion segmenter: an EfficientNet-Lite0 U-Net (ONNX, see training/lite_unet.py) on the canonical canvas
-> per-pixel probabilities.

Channels: microaneurysm, haemorrhage, hard exudate, soft exudate, optic disc.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHANNELS = ("MA", "HE", "EX", "SE", "OD")
LESION_TYPES = {"MA": "microaneurysm", "HE": "haemorrhage", "EX": "hard_exudate", "SE": "soft_exudate"}


class Segmenter:
    def __init__(self, onnx_path: Path) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # One image per call on a shared box: one thread keeps latency predictable and leaves the rest free.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name

    def probabilities(self, contrast: np.ndarray) -> np.ndarray:
        """3 x S x S canonical input -> len(CHANNELS) x S x S probabilities."""
        logits = self._session.run(None, {self._input: contrast[None].astype(np.float32)})[0][0]
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)
