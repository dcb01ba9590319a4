"""Poisson equations on [-1, 1]^2 with homogeneous Dirichlet boundaries."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pinnkan.jet import Jet
from pinnkan.problem import Box, Dirichlet, Problem

PI = math.pi


class Poisson(Problem):
    """The KAN paper's §3.4 problem: lap u = f, u = sin(pi x) sin(pi y^2)."""

    name = "poisson"
    description = "Laplace(u) = f on [-1,1]^2, u = sin(pi x) sin(pi y^2), u = 0 on the boundary (KAN paper 3.4)"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0))
    conditions = (Dirichlet(),)
    defaults = {"n_interior": 10000, "n_boundary": 800, "alpha": 0.01}

    def forcing(self, x: Tensor) -> Tensor:
        """f (N,) = -pi^2 (1 + 4y^2) sin(pi x) sin(pi y^2) + 2 pi sin(pi x) cos(pi y^2)."""
        px, y = PI * x[:, 0], x[:, 1]
        return -(PI**2) * (1 + 4 * y**2) * torch.sin(px) * torch.sin(PI * y**2) + 2 * PI * torch.sin(px) * torch.cos(
            PI * y**2
        )

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap() - self.forcing(x)

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1] ** 2)).unsqueeze(1)


class PoissonSinSin(Problem):
    """lap u = -2 pi^2 sin(pi x) sin(pi y): the pykan PDE tutorial's problem."""

    name = "poisson_sinsin"
    description = "Laplace(u) = -2 pi^2 sin(pi x) sin(pi y) on [-1,1]^2, u = sin(pi x) sin(pi y), u = 0 on the boundary"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0))
    conditions = (Dirichlet(),)
    defaults = {"n_interior": 10000, "n_boundary": 800, "alpha": 0.01}

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap() + 2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).unsqueeze(1)
