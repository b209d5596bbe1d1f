"""A small dual-head CNN in plain PyTorch (no torchvision: there is no CPU build here).

Four conv blocks (conv-BN-ReLU twice, then pool) to a 256-d embedding, then a smile
logit and expression logits. Inputs are [0, 1] images; normalisation is inside the
network so the ONNX export takes exactly what the predictor decodes.
"""

from __future__ import annotations

import torch
from torch import nn


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


class DualHeadNet(nn.Module):
    def __init__(self, channels: int = 3, expressions: int = 8, width: int = 32) -> None:
        super().__init__()
        self.channels, self.expressions, self.width = channels, expressions, width
        widths = [width, width * 2, width * 4, width * 8]
        layers, cin = [], channels
        for w in widths:
            layers.append(_block(cin, w))
            cin = w
        self.features = nn.Sequential(*layers)
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

    def config(self) -> dict[str, int]:
        return {"channels": self.channels, "expressions": self.expressions, "width": self.width}


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
