"""Viscous Burgers with two-mode initial data: u_t + u u_x = nu u_xx, nu = 0.02/pi, on [-1, 1] x [0, 1].

u(x, 0) = -sin(pi x) + 0.5 sin(2 pi x), u(+-1, t) = 0. Reference: Cole-Hopf,
u = int u0(y) phi0(y) G(x - y, t) dy / int phi0(y) G(x - y, t) dy with phi0 = exp(-int_0^y u0 / (2 nu)) and
the heat kernel G, by the trapezoidal rule in log space (12000 nodes; 6000 agree to 1e-12).
"""

import math

import numpy as np
import torch

from pinnkan import Box, Dirichlet, Initial, Problem
from pinnkan.cache import cached

NU = 0.02 / math.pi
PI = math.pi


def u0(y):
    return -np.sin(PI * y) + 0.5 * np.sin(2 * PI * y)


def potential(y):
    """int_0^y u0."""
    return (np.cos(PI * y) - 1) / PI - 0.5 * (np.cos(2 * PI * y) - 1) / (2 * PI)


def cole_hopf(x, t, nodes=12000):
    if t == 0:
        return u0(x)
    w = math.sqrt(4 * NU * t)
    s = np.linspace(-14 * w, 14 * w, nodes)
    y = x[:, None] - s[None, :]
    expo = -((s[None, :] / w) ** 2) - potential(y) / (2 * NU)
    expo -= expo.max(axis=1, keepdims=True)
    wts = np.exp(expo)
    return (u0(y) * wts).sum(1) / wts.sum(1)


class BurgersTwoModes(Problem):
    name = "burgers_two_modes"
    description = "u_t + u u_x = (0.02/pi) u_xx on [-1,1]x[0,1], u(x,0) = -sin(pi x) + 0.5 sin(2 pi x)"
    coords = ("x", "t")
    domain = Box((-1.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces=("x-", "x+"), value=0.0),
        Initial(value=lambda p, x: -torch.sin(PI * x[:, :1]) + 0.5 * torch.sin(2 * PI * x[:, :1])),
    )

    def residual(self, x, jet):
        return jet.d("t") + jet.val * jet.d("x") - NU * jet.dd("x")

    def reference(self):
        xs, ts = np.linspace(-1, 1, 257), np.linspace(0, 1, 101)
        u = cached("bench-burgers2-257x101-v1", lambda: {"u": np.stack([cole_hopf(xs, t) for t in ts], 1)})["u"]
        return [xs, ts], u[..., None]
