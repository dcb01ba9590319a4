"""Multilayer perceptron baseline (tanh)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.surrogates.base import Surrogate


class MLP(Surrogate):
    """widths [D, h1, ..., F]; tanh between layers, Xavier-normal init, zero biases."""

    kind = "mlp"
    # measured (pinnkan bench): forward jets cost 1.5-2x nested autograd for tanh MLPs
    prefers_forward = False

    def __init__(self, widths: Sequence[int], lo: Tensor, hi: Tensor) -> None:
        super().__init__(lo, hi)
        self.widths = list(widths)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=math.sqrt(2.0 / sum(layer.weight.shape)))
            nn.init.zeros_(layer.bias)

    def body(self, z: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            z = layer(z)
            if i < len(self.layers) - 1:
                z = torch.tanh(z)
        return z

    def body_jet(self, r: Rows) -> Rows:
        for i, layer in enumerate(self.layers):
            rows = r.rows @ layer.weight.T
            # bias shifts the value only; derivative rows are linear images
            value, rest = rows.split([1, rows.shape[1] - 1], dim=1)
            rows = torch.cat([value + layer.bias, rest], dim=1)
            r = Rows(rows, r.dim, r.order)
            if i < len(self.layers) - 1:
                t = torch.tanh(r.value)
                t1 = 1 - t * t
                r = r.pointwise(t, t1, -2 * t * t1)
        return r

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths}
