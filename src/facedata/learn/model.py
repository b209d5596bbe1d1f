"""Dual-head CNNs in plain PyTorch (no torchvision: there is no CPU build here).

Two architectures behind one class:
- `light` (the default for new models): a stride-2 stem and three depthwise-separable
  stride-2 blocks to an embedding of 8x `width`. About 8 M multiply-adds at 112x112
  with width 32, under a millisecond per face on one core with onnxruntime, so a live
  readout keeps up with a 30 fps call and a small corpus trains in seconds.
- `plain`: four conv blocks (conv-BN-ReLU twice, then pool) to 8x `width`; the
  original network, about 15 ms per face on one core. Models trained before the
  light network existed carry no `arch` and load as `plain`.

Both end in a smile logit and expression logits. Inputs are [0, 1] images;
normalisation is inside the network so the ONNX export takes exactly what the
predictor decodes, and global pooling lets any input size through.
"""

from __future__ import annotations

import torch
from torch import nn

ARCHS = ("light", "plain")


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def _separable(cin: int, cout: int) -> nn.Sequential:
    """Depthwise 3x3 (stride 2) then pointwise 1x1: a ninth of a full conv's cost."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride=2, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def _features(arch: str, channels: int, width: int) -> tuple[nn.Sequential, int]:
    widths = [width, width * 2, width * 4, width * 8]
    if arch == "plain":
        layers, cin = [], channels
        for w in widths:
            layers.append(_block(cin, w))
            cin = w
        return nn.Sequential(*layers), cin
    if arch != "light":
        raise ValueError(f"unknown architecture {arch!r}: one of {', '.join(ARCHS)}")
    stem = nn.Sequential(
        nn.Conv2d(channels, width, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(inplace=True),
    )
    blocks = [_separable(a, b) for a, b in zip(widths, widths[1:], strict=False)]
    return nn.Sequential(stem, *blocks), widths[-1]


class DualHeadNet(nn.Module):
    def __init__(
        self, channels: int = 3, expressions: int = 8, width: int = 32, arch: str = "plain"
    ) -> None:
        super().__init__()
        self.channels, self.expressions, self.width, self.arch = channels, expressions, width, arch
        self.features, cin = _features(arch, channels, width)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.smile = nn.Linear(cin, 1)
        # expressions=0: a smile-only model with no expression head at all (`--heads smile`)
        self.expression = nn.Linear(cin, expressions) if expressions else None

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(smile logit [N], expression logits [N, K]) for images [N, C, H, W] in [0, 1]."""
        x = (image - 0.5) / 0.25
        x = self.dropout(torch.flatten(self.pool(self.features(x)), 1))
        if self.expression is None:
            return self.smile(x).squeeze(1), x.new_zeros(x.shape[0], 0)
        return self.smile(x).squeeze(1), self.expression(x)

    def config(self) -> dict[str, int | str]:
        return {
            "channels": self.channels,
            "expressions": self.expressions,
            "width": self.width,
            "arch": self.arch,
        }


class Probabilities(nn.Module):
    """What is exported: smile probability [N] and expression probabilities [N, K]."""

    def __init__(self, net: DualHeadNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        smile, expression = self.net(image)
        return torch.sigmoid(smile), torch.softmax(expression, dim=1)


class SmileProbability(nn.Module):
    """What a smile-only model exports: the smile probability [N], no expression output."""

    def __init__(self, net: DualHeadNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(image)[0])
