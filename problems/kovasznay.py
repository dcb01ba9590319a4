"""Steady incompressible Navier-Stokes: the Kovasznay flow (three fields u, v, p)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pinnkan.jet import Jet
from pinnkan.problem import Box, Dirichlet, Problem

PI = math.pi


class Kovasznay(Problem):
    """u u_x + v u_y + p_x = lap(u)/Re, same for v, u_x + v_y = 0; exact Kovasznay solution."""

    name = "kovasznay"
    description = "steady Navier-Stokes at Re = 20 on [-0.5,1]x[-0.5,1.5], Kovasznay flow, fields u, v, p"
    coords = ("x", "y")
    fields = ("u", "v", "p")
    domain = Box((-0.5, -0.5), (1.0, 1.5))
    conditions = (Dirichlet(),)
    params = {"re": 20.0}
    defaults = {
        "model": "kan",
        "kan_k": 3,
        # the boundary values of u, v, p imposed (hard_bc): 1.7e-6 against 4.3e-5 (median of seeds 0-2;
        # `pinnkan suite --problems kovasznay --seeds 3 [--set model.hard_bc=false]`)
        "hard_bc": True,
        "n_interior": 8000,
        "n_boundary": 800,
        "alpha": 0.1,
        "kan_hidden": [10],
        # a fourth grid stage: to G = 20 the median of seeds 0-2 was 1.2e-4, with it 4.3e-5
        # (`pinnkan suite --problems kovasznay --seeds 3 [--set train.grids=5,10,20]`)
        "grids": [5, 10, 20, 40],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    @property
    def lam(self) -> float:
        return self.re / 2 - math.sqrt(self.re**2 / 4 + 4 * PI**2)

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        u, v, p = jet["u"], jet["v"], jet["p"]
        mom_x = u.val * u.d("x") + v.val * u.d("y") + p.d("x") - u.lap() / self.re
        mom_y = u.val * v.d("x") + v.val * v.d("y") + p.d("y") - v.lap() / self.re
        mass = u.d("x") + v.d("y")
        return torch.stack([mom_x, mom_y, mass], dim=1)

    def exact(self, x: Tensor) -> Tensor:
        lam, z, y = self.lam, x[:, 0], x[:, 1]
        e = torch.exp(lam * z)
        u = 1 - e * torch.cos(2 * PI * y)
        v = lam / (2 * PI) * e * torch.sin(2 * PI * y)
        p = 0.5 * (1 - torch.exp(2 * lam * z))
        return torch.stack([u, v, p], dim=1)
