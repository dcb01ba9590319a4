"""Inverse heat problem: the diffusivity field k(x) of u_t = (k u_x)_x + s, learned from measurements of u.

Fields u and k on [0, 1] x [0, 1]; u given at the ends and at t = 0, k at the ends only; u measured at 300
points (synthetic, from the exact solution). Exact: u = exp(-t) sin(pi x) + x (1 - x) t,
k = 1 + 0.4 sin(2 pi x) + 0.2 x.
"""

import math

import numpy as np
import torch

from pinnkan import Box, Dirichlet, Initial, PointSet, Problem

PI = math.pi


def solution(x):
    X, t = x[:, 0], x[:, 1]
    u = torch.exp(-t) * torch.sin(PI * X) + X * (1 - X) * t
    k = 1 + 0.4 * torch.sin(2 * PI * X) + 0.2 * X
    return torch.stack([u, k], 1)


def source(x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = solution(x)
        g = torch.autograd.grad(s[:, 0].sum(), x, create_graph=True)[0]
        flux = s[:, 1] * g[:, 0]
        dflux = torch.autograd.grad(flux.sum(), x)[0][:, 0]
    return (g[:, 1] - dflux).detach()


class InverseDiffusivity(Problem):
    name = "inverse_diffusivity"
    description = "u_t = (k u_x)_x + s with the field k unknown inside, u measured at 300 points"
    coords = ("x", "t")
    fields = ("u", "k")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces=("x-", "x+"), fields="u", name="u_ends"),
        Initial(fields="u", name="u_start"),
        Dirichlet(faces=("x-", "x+"), fields="k", name="k_ends"),
        PointSet(at=np.random.default_rng(3).uniform(0, 1, size=(300, 2)), fields="u", name="sensors"),
    )

    def residual(self, x, jet):
        u, k = jet["u"], jet["k"]
        return u.d("t") - k.val * u.dd("x") - k.d("x") * u.d("x") - source(x)

    def exact(self, x):
        return solution(x)
