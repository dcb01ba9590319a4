"""Heat in 5-D: u_t = lap(u) / 5 on [0, 1]^5 x [0, 1], u given on the boundary and at t = 0.

Exact: u = exp(a.x + |a|^2 t / 5) + sin(pi x1 / 2) sin(pi x2 / 2) exp(-pi^2 t / 10), a = (0.5, -0.3, 0.4, 0.2, -0.6).
"""

import math

import torch

from pinnkan import Box, Dirichlet, Initial, Problem

D = 5


def solution(x):
    """Both terms solve u_t = lap(u) / 5."""
    a = torch.tensor([0.5, -0.3, 0.4, 0.2, -0.6], dtype=x.dtype, device=x.device)
    space, t = x[:, :D], x[:, D:]
    c = float((a**2).sum()) / 5
    u = torch.exp(space @ a[:, None] + c * t)
    u = u + torch.sin(math.pi * x[:, :1] / 2) * torch.sin(math.pi * x[:, 1:2] / 2) * torch.exp(-(math.pi**2) * t / 10)
    return u


class Heat5D(Problem):
    name = "heat5d"
    description = "u_t = lap(u)/5 on [0,1]^5 x [0,1], exact exponential-plus-mode solution"
    coords = ("x1", "x2", "x3", "x4", "x5", "t")
    domain = Box((0.0,) * 6, (1.0,) * 6)
    conditions = (Dirichlet(faces="space"), Initial())

    def residual(self, x, jet):
        return jet.d("t") - jet.lap(["x1", "x2", "x3", "x4", "x5"]) / 5

    def exact(self, x):
        return solution(x)
