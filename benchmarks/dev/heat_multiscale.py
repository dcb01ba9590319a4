"""Multi-scale anisotropic heat on [0, 1]^2, t in [0, 5]: u_t = u_xx / (20 pi)^2 + u_yy / pi^2.

Initial data sin(20 pi x) sin(pi y) + sin(pi x) sin(2 pi y), u = 0 on the sides. Exact: each mode
decays at its own rate, exp(-2 t) and exp(-(1/400 + 4) t).
"""

import math

import torch

from pinnkan import Box, Dirichlet, Initial, Problem

PI = math.pi
A, B = 1.0 / (20 * PI) ** 2, 1.0 / PI**2


def solution(x):
    X, Y, t = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    fast = torch.exp(-(A * (20 * PI) ** 2 + B * PI**2) * t) * torch.sin(20 * PI * X) * torch.sin(PI * Y)
    slow = torch.exp(-(A * PI**2 + B * (2 * PI) ** 2) * t) * torch.sin(PI * X) * torch.sin(2 * PI * Y)
    return fast + slow


class HeatMultiScale(Problem):
    name = "heat_multiscale"
    description = "u_t = u_xx/(20 pi)^2 + u_yy/pi^2 on [0,1]^2 x [0,5], u0 = sin(20 pi x) sin(pi y) + a slow mode"
    coords = ("x", "y", "t")
    time = "t"
    domain = Box((0.0, 0.0, 0.0), (1.0, 1.0, 5.0))
    conditions = (
        Dirichlet(faces=("x-", "x+", "y-", "y+"), value=0.0),
        Initial(value=lambda p, x: solution(x)),
    )

    def residual(self, x, jet):
        return jet.d("t") - A * jet.dd("x") - B * jet.dd("y")

    def exact(self, x):
        return solution(x)
