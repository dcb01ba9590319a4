"""Poisson in 3-D on a cube with two spherical cavities: -lap(u) = f, u given on every surface.

[0, 1]^3 minus balls of radius 0.2 at (0.3, 0.3, 0.3) and 0.15 at (0.7, 0.6, 0.65);
exact u = exp(x) sin(pi y) cos(pi z / 2) + x y z.
"""

import math

import torch

from pinnkan import Ball, Box, Dirichlet, Problem

PI = math.pi


class Poisson3DHoles(Problem):
    name = "poisson3d_holes"
    description = "-lap u = f on the unit cube minus two balls, Dirichlet everywhere"
    coords = ("x", "y", "z")
    domain = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)) - Ball((0.3, 0.3, 0.3), 0.2) - Ball((0.7, 0.6, 0.65), 0.15)
    conditions = (Dirichlet(),)

    def residual(self, x, jet):
        X, Y, Z = x[:, 0], x[:, 1], x[:, 2]
        lap = torch.exp(X) * torch.sin(PI * Y) * torch.cos(PI * Z / 2) * (1 - PI**2 - PI**2 / 4)
        return -jet.lap() + lap

    def exact(self, x):
        X, Y, Z = x[:, 0], x[:, 1], x[:, 2]
        return (torch.exp(X) * torch.sin(PI * Y) * torch.cos(PI * Z / 2) + X * Y * Z).unsqueeze(1)
