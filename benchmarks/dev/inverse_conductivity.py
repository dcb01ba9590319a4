"""Inverse problem: the conductivity field a(x, y) of -div(a grad u) = f, learned from 200 measurements of u.

Fields u and a on [0, 1]^2; u = 0 on the boundary, a known on the boundary, u measured at 200 points
(synthetic, from the exact solution). Exact: u = sin(pi x) sin(pi y), a = 1 + 0.5 exp(-8 |x - (0.6, 0.4)|^2).
"""

import math

import numpy as np
import torch

from pinnkan import Box, Dirichlet, PointSet, Problem

PI = math.pi


def solution(x):
    X, Y = x[:, 0], x[:, 1]
    u = torch.sin(PI * X) * torch.sin(PI * Y)
    a = 1 + 0.5 * torch.exp(-8 * ((X - 0.6) ** 2 + (Y - 0.4) ** 2))
    return torch.stack([u, a], 1)


def forcing(x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = solution(x)
        gu = torch.autograd.grad(s[:, 0].sum(), x, create_graph=True)[0]
        flux = s[:, 1:2] * gu
        div = sum(torch.autograd.grad(flux[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(2))
    return (-div).detach()


SENSORS = np.random.default_rng(7).uniform(0.05, 0.95, size=(200, 2))


class InverseConductivity(Problem):
    name = "inverse_conductivity"
    description = "-div(a grad u) = f with the field a unknown inside, u measured at 200 points"
    coords = ("x", "y")
    fields = ("u", "a")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(fields="u", value=0.0, name="u_boundary"),
        Dirichlet(fields="a", name="a_boundary"),
        PointSet(at=SENSORS, fields="u", name="sensors"),
    )

    def residual(self, x, jet):
        u, a = jet["u"], jet["a"]
        return -(a.val * (u.dd("x") + u.dd("y")) + a.d("x") * u.d("x") + a.d("y") * u.d("y")) - forcing(x)

    def exact(self, x):
        return solution(x)
