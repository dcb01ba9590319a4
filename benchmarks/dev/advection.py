"""Advection u_t + 30 u_x = 0 on [0, 2 pi] x [0, 1], periodic in x, u(x, 0) = sin(x). Exact: sin(x - 30 t)."""

import torch

from pinnkan import Box, Initial, Periodic, Problem

BETA = 30.0


class Advection(Problem):
    name = "advection_user"
    description = "u_t + 30 u_x = 0, periodic on [0, 2 pi], u(x,0) = sin x"
    coords = ("x", "t")
    time = "t"
    domain = Box((0.0, 0.0), (2 * torch.pi, 1.0))
    conditions = (Initial(value=lambda p, x: torch.sin(x[:, :1])), Periodic(coord="x"))

    def residual(self, x, jet):
        return jet.d("t") + BETA * jet.d("x")

    def exact(self, x):
        return torch.sin(x[:, :1] - BETA * x[:, 1:2])
