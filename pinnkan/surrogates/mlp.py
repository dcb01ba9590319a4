"""Multilayer perceptron baseline (tanh)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.layout import Layout
from pinnkan.surrogates.base import Surrogate
from pinnkan.surrogates.mlp_jet import MLPJet, second_order_weights
from pinnkan.univariate import tanh_derivatives


class MLP(Surrogate):
    """widths [D, h1, ..., F]; tanh between layers, Xavier-normal init, zero biases."""

    fused_standard = True
    kind = "mlp"
    default_hidden = (100, 100, 100)
    default_lr = 1e-3

    def __init__(self, widths: Sequence[int], lo: Tensor, hi: Tensor) -> None:
        super().__init__(lo, hi)
        self.widths = list(widths)
        # fused: the whole jet as one autograd node (mlp_jet.py); False propagates Rows
        # through plain PyTorch ops, the reference the fused node is tested against
        self.fused = True
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

    def jet_rows(self, x: Tensor, layout: Layout) -> Rows:
        std = layout.standard_form()
        if not self.fused or std is None or std[0] == 0 or len(self.layers) < 2 or x.requires_grad:
            # plain PyTorch ops on Rows (any layout): the reference, the path for layouts beyond the
            # standard ones, and the path when x needs a gradient, which the fused node does not give
            return self.body_jet(Rows.of_input(x, layout, self.in_scale, self.in_shift))
        order, lap = std
        c = None if order == 1 else second_order_weights(x.shape[1], lap, x)
        params = [p for layer in self.layers for p in (layer.weight, layer.bias)]
        y = MLPJet.apply(x * self.in_scale + self.in_shift, self.in_scale, c, *params)  # (F, R, N)
        return Rows(y.permute(2, 1, 0), layout)

    def body_jet(self, r: Rows) -> Rows:
        for i, layer in enumerate(self.layers):
            r = r.linear(layer.weight, layer.bias)
            if i < len(self.layers) - 1 and r.layout.keys:
                r = r.pointwise(tanh_derivatives(torch.tanh(r.value), r.order))
            elif i < len(self.layers) - 1:
                r = r.like(torch.tanh(r.rows))
        return r

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths}
