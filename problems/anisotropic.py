"""Anisotropic diffusion: an elliptic equation with a mixed derivative."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pinnkan.jet import Jet
from pinnkan.problem import Box, Dirichlet, Problem

PI = math.pi


class Anisotropic(Problem):
    """div(A grad u) = u_xx + c u_xy + u_yy = f on [-1, 1]^2, A = [[1, c/2], [c/2, 1]] (elliptic for |c| < 2).

    u = sin(pi x) sin(pi y), so f = -2 pi^2 sin(pi x) sin(pi y) + c pi^2 cos(pi x) cos(pi y); u = 0 on the
    boundary. The mixed term u_xy is what a diagonal-Hessian jet cannot give.
    """

    name = "anisotropic"
    description = "u_xx + c u_xy + u_yy = f on [-1,1]^2 (c = 1), u = sin(pi x) sin(pi y), u = 0 on the boundary"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0))
    conditions = (Dirichlet(),)
    params = {"c": 1.0}
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_hidden": [10],
        "kan_k": 3,
        "n_interior": 10000,
        "n_boundary": 800,
        "alpha": 0.01,
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def setup(self) -> None:
        if not abs(self.c) < 2:
            raise ValueError(f"problem.c = {self.c} makes the operator non-elliptic; take |c| < 2")

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        px, py = PI * x[:, 0], PI * x[:, 1]
        f = -2 * PI**2 * torch.sin(px) * torch.sin(py) + self.c * PI**2 * torch.cos(px) * torch.cos(py)
        return jet.dd("x") + self.c * jet.d("x", "y") + jet.dd("y") - f

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).unsqueeze(1)
