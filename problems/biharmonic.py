"""The biharmonic equation: a clamped plate with an exact solution."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pinnkan.jet import Jet
from pinnkan.problem import Box, Dirichlet, Neumann, Problem

PI = math.pi


class Biharmonic(Problem):
    """lap^2 u = f on [0, 1]^2, u = sin^2(pi x) sin^2(pi y), clamped: u = 0 and du/dn = 0 on the boundary.

    lap^2 u = u_xxxx + 2 u_xxyy + u_yyyy. With S(z) = sin^2(pi z) = (1 - cos 2 pi z) / 2,
    S'' = 2 pi^2 cos 2 pi z and S'''' = -8 pi^4 cos 2 pi z, so
    f = S''''(x) S(y) + 2 S''(x) S''(y) + S(x) S''''(y). The residual is divided by 8 pi^4
    (the size of f) so that the PDE and boundary terms of the loss start at comparable scales.
    """

    name = "biharmonic"
    description = "lap^2 u = f on [0,1]^2, u = sin^2(pi x) sin^2(pi y), clamped plate: u = du/dn = 0 on the boundary"
    coords = ("x", "y")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(), Neumann())
    SCALE = 8 * PI**4
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "n_interior": 4000,
        "n_boundary": 400,
        "alpha": 1.0,
        "kan_k": 5,
        "kan_hidden": [16],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def forcing(self, x: Tensor) -> Tensor:
        cx, cy = torch.cos(2 * PI * x[:, 0]), torch.cos(2 * PI * x[:, 1])
        sx, sy = (1 - cx) / 2, (1 - cy) / 2
        return -8 * PI**4 * (cx * sy + sx * cy) + 8 * PI**4 * cx * cy

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        bilap = jet.d("x", "x", "x", "x") + 2 * jet.d("x", "x", "y", "y") + jet.d("y", "y", "y", "y")
        return (bilap - self.forcing(x)) / self.SCALE

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) ** 2 * torch.sin(PI * x[:, 1]) ** 2).unsqueeze(1)
