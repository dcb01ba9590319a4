"""Kovasznay flow at Re = 40: steady Navier-Stokes behind a grid, fields u, v, p, on [-0.5, 1] x [-0.5, 1.5].

The velocity is given on every side; the pressure only at the outlet x = 1 (p = exact there).
Exact: u = 1 - exp(l x) cos(2 pi y), v = l / (2 pi) exp(l x) sin(2 pi y), p = (1 - exp(2 l x)) / 2,
l = Re / 2 - sqrt(Re^2 / 4 + 4 pi^2).
"""

import math

import torch

from pinnkan import Box, Dirichlet, Problem

RE = 40.0
LAM = RE / 2 - math.sqrt(RE**2 / 4 + 4 * math.pi**2)


class Kovasznay(Problem):
    name = "kovasznay_re40"
    description = "steady Navier-Stokes, Kovasznay flow at Re = 40; velocity on all sides, pressure at the outlet"
    coords = ("x", "y")
    fields = ("u", "v", "p")
    domain = Box((-0.5, -0.5), (1.0, 1.5))
    conditions = (
        Dirichlet(faces="all", fields=("u", "v"), name="velocity"),
        Dirichlet(faces="x+", fields="p", name="outlet"),
    )

    def residual(self, x, jet):
        u, v, p = jet["u"], jet["v"], jet["p"]
        mx = u.val * u.d("x") + v.val * u.d("y") + p.d("x") - (u.dd("x") + u.dd("y")) / RE
        my = u.val * v.d("x") + v.val * v.d("y") + p.d("y") - (v.dd("x") + v.dd("y")) / RE
        return torch.stack([mx, my, u.d("x") + v.d("y")], 1)

    def exact(self, x):
        X, Y = x[:, 0], x[:, 1]
        e = torch.exp(LAM * X)
        u = 1 - e * torch.cos(2 * math.pi * Y)
        v = LAM / (2 * math.pi) * e * torch.sin(2 * math.pi * Y)
        p = 0.5 * (1 - torch.exp(2 * LAM * X))
        return torch.stack([u, v, p], 1)
