"""1-D wave, u_tt = 4 u_xx on [0, 1] x [0, 1], two standing modes, at rest at t = 0.

Exact: u = sin(pi x) cos(2 pi t) + 0.5 sin(4 pi x) cos(8 pi t).
"""

import math

import torch

from pinnkan import Box, Derivative, Dirichlet, Initial, Problem

PI = math.pi


class Wave1D(Problem):
    name = "wave1d_user"
    description = "u_tt = 4 u_xx, u(x,0) = sin(pi x) + 0.5 sin(4 pi x), u_t(x,0) = 0, u = 0 at x = 0, 1"
    coords = ("x", "t")
    time = "t"
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces=("x-", "x+"), value=0.0),
        Initial(value=lambda p, x: torch.sin(PI * x[:, :1]) + 0.5 * torch.sin(4 * PI * x[:, :1])),
        Derivative(coord="t", faces=("t-",), value=0.0),
    )

    def residual(self, x, jet):
        return jet.dd("t") - 4.0 * jet.dd("x")

    def exact(self, x):
        z, t = x[:, :1], x[:, 1:]
        return torch.sin(PI * z) * torch.cos(2 * PI * t) + 0.5 * torch.sin(4 * PI * z) * torch.cos(8 * PI * t)
