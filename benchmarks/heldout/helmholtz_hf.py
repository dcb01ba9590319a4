"""High-frequency Helmholtz: lap(u) + k^2 u = q on [-1, 1]^2, k = 4, u = 0 on the boundary.

Exact: u = sin(6 pi x) sin(4 pi y) (q from it).
"""

import math

import torch

from pinnkan import Box, Dirichlet, Problem

PI = math.pi
K = 4.0


class HelmholtzHF(Problem):
    name = "helmholtz_hf"
    description = "lap u + 16 u = q on [-1,1]^2 with u = sin(6 pi x) sin(4 pi y)"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0))
    conditions = (Dirichlet(value=0.0),)

    def residual(self, x, jet):
        u = torch.sin(6 * PI * x[:, 0]) * torch.sin(4 * PI * x[:, 1])
        q = (K**2 - 52 * PI**2) * u
        return jet.lap() + K**2 * jet.val - q

    def exact(self, x):
        return (torch.sin(6 * PI * x[:, 0]) * torch.sin(4 * PI * x[:, 1])).unsqueeze(1)
