"""Advection at beta = 50: u_t + 50 u_x = 0 on [0, 2 pi] x [0, 1], periodic, u(x, 0) = sin(x) + 0.5 cos(2x)."""

import math

import torch

from pinnkan import Box, Initial, Periodic, Problem


class Advection50(Problem):
    name = "advection50"
    description = "u_t + 50 u_x = 0, periodic on [0, 2 pi], two modes"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (2 * math.pi, 1.0))
    conditions = (Initial(), Periodic(coord="x"))

    def residual(self, x, jet):
        return jet.d("t") + 50.0 * jet.d("x")

    def exact(self, x):
        z = x[:, :1] - 50.0 * x[:, 1:2]
        return torch.sin(z) + 0.5 * torch.cos(2 * z)
