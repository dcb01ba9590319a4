"""Periodic linear advection (the classic PINN failure mode for large beta)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pinnkan.jet import Jet
from pinnkan.problem import Box, Initial, Periodic, Problem


class Advection(Problem):
    """u_t + beta u_x = 0 on [0, 2 pi] x [0, 1], u(x, 0) = sin x, periodic in x."""

    name = "advection"
    description = "u_t + beta u_x = 0 on [0,2pi]x[0,1], u(x,0) = sin(x), periodic in x, beta = 10 (30: classic failure)"
    coords = ("x", "t")
    time = "t"
    domain = Box((0.0, 0.0), (2 * math.pi, 1.0))
    conditions = (Initial(), Periodic(coord="x"))
    params = {"beta": 10.0}
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_k": 3,
        "n_interior": 10000,
        "n_boundary": 400,
        "n_initial": 400,
        "alpha": 0.01,
        "kan_hidden": [10],
        # a fourth grid stage: to G = 20 the median of seeds 0-2 was 1.1e-4, with it 1.6e-5
        # (`pinnkan suite --problems advection --seeds 3 [--set train.grids=5,10,20]`)
        "grids": [5, 10, 20, 40],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.d("t") + self.beta * jet.d("x")

    def exact(self, x: Tensor) -> Tensor:
        return torch.sin(x[:, :1] - self.beta * x[:, 1:2])
