"""2-D wave (a membrane), u_tt = lap(u) on [0, 1]^2 x [0, 1], clamped, released from rest.

Exact: u = sin(pi x) sin(pi y) cos(sqrt(2) pi t) + 0.3 sin(2 pi x) sin(3 pi y) cos(sqrt(13) pi t).
"""

import math

import torch

from pinnkan import Box, Derivative, Dirichlet, Initial, Problem

PI = math.pi


def solution(x):
    X, Y, t = x[:, 0:1], x[:, 1:2], x[:, 2:3]
    return torch.sin(PI * X) * torch.sin(PI * Y) * torch.cos(math.sqrt(2) * PI * t) + 0.3 * torch.sin(
        2 * PI * X
    ) * torch.sin(3 * PI * Y) * torch.cos(math.sqrt(13) * PI * t)


class Wave2D(Problem):
    name = "wave2d"
    description = "u_tt = lap u on the unit square, clamped edges, two modes released from rest"
    coords = ("x", "y", "t")
    domain = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    conditions = (
        Dirichlet(faces="space", value=0.0),
        Initial(value=lambda p, x: solution(x)),
        Derivative(coord="t", faces="t-", value=0.0, kind="ic"),
    )

    def residual(self, x, jet):
        return jet.dd("t") - jet.dd("x") - jet.dd("y")

    def exact(self, x):
        return solution(x)
