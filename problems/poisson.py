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
    # quintic splines and a fourth grid stage: cubic ones to G = 20 stalled at rel_l2 4.7e-5 (median of
    # seeds 0-2), quintic ones to G = 40 reach 4.7e-8 (`pinnkan suite --problems poisson_sinsin --seeds 3`);
    # cubic ones to G = 80 gave 2.5e-6 (seed 0: `pinnkan solve poisson_sinsin --k 3 --grids 5,10,20,40,80`)
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_hidden": [10],
        "n_interior": 10000,
        "n_boundary": 800,
        "alpha": 0.01,
        "kan_k": 5,
        "grids": [5, 10, 20, 40],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap() + 2 * PI**2 * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])

    def exact(self, x: Tensor) -> Tensor:
        return (torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).unsqueeze(1)


class Poisson1D(Problem):
    """A multi-scale 1-D Poisson problem: u = sin(2 pi x) + 0.1 sin(50 pi x)."""

    name = "poisson1d"
    description = "u'' = f on [-1,1], u = sin(2 pi x) + 0.1 sin(50 pi x) (multi-scale), Dirichlet ends"
    coords = ("x",)
    domain = Box((-1.0,), (1.0,))
    conditions = (Dirichlet(),)
    params = {"a": 2.0, "b": 50.0, "eps": 0.1}
    # a single spline layer: sin(50 pi x) needs G >= 100; u'' ~ 2500 makes the residual term large, hence alpha.
    # Quintic splines from G = 200 (a first stage at G = 100 cannot resolve the fine scale and settles in a
    # wrong basin: rel_l2 0.99, `--grids 100,200,400`); cubic ones need G = 1600 for 2.8e-3 (seed 0:
    # `pinnkan solve poisson1d --k 3 --grids 200,400,800,1600 --n-interior 16000`). Measured with
    # `pinnkan suite --problems poisson1d --seeds 3`.
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "n_interior": 4000,
        "n_boundary": 2,
        "alpha": 1e-6,
        "kan_hidden": [],
        "kan_k": 5,
        "grids": [200, 400, 800],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        z = x[:, 0]
        f = -((self.a * PI) ** 2) * torch.sin(self.a * PI * z) - self.eps * (self.b * PI) ** 2 * torch.sin(
            self.b * PI * z
        )
        return jet.dd("x") - f

    def exact(self, x: Tensor) -> Tensor:
        z = x[:, :1]
        return torch.sin(self.a * PI * z) + self.eps * torch.sin(self.b * PI * z)


class PoissonND(Problem):
    """-lap u = (pi^2 / 4) sum_i sin(pi x_i / 2) on [0, 1]^d, u = sum_i sin(pi x_i / 2)."""

    name = "poisson_nd"
    description = "-Laplace(u) = (pi^2/4) sum sin(pi x_i/2) on [0,1]^d (d = 5), u = sum sin(pi x_i/2), Dirichlet"
    coords = tuple(f"x{i}" for i in range(1, 6))
    domain = Box((0.0,) * 5, (1.0,) * 5)
    conditions = (Dirichlet(),)
    params = {"d": 5}
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_k": 3,
        "n_interior": 10000,
        "n_boundary": 2000,
        "alpha": 0.1,
        "kan_hidden": [5],
        "grids": [5, 10],
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def setup(self) -> None:
        if self.d < 1:
            raise ValueError("problem.d must be >= 1")
        self.coords = tuple(f"x{i}" for i in range(1, self.d + 1))
        self.domain = Box((0.0,) * self.d, (1.0,) * self.d)

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return -jet.lap() - (PI**2 / 4) * torch.sin(PI * x / 2).sum(1)

    def exact(self, x: Tensor) -> Tensor:
        return torch.sin(PI * x / 2).sum(1, keepdim=True)
