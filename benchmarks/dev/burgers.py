"""Viscous Burgers, u_t + u u_x = nu u_xx, nu = 0.01/pi, u(x, 0) = -sin(pi x), u(+-1, t) = 0.

Reference: the Cole-Hopf solution, u = -2 nu phi_x / phi with phi the heat-kernel convolution of
phi_0 = exp(-int_0^x u_0 / (2 nu)), by the trapezoidal rule in log space on 8000 nodes (checked
against 16000 nodes to 1e-12 in the tests).
"""

import math

import numpy as np
import torch

from pinnkan import Box, Dirichlet, Initial, Problem
from pinnkan.cache import cached

NU = 0.01 / math.pi


def cole_hopf(x, t, nu=NU, nodes=8000):
    """u(x, t) for u_0 = -sin(pi x) (its antiderivative (cos(pi x) - 1) / pi)."""
    x = np.asarray(x, float)
    if t == 0:
        return -np.sin(math.pi * x)
    w = math.sqrt(4 * nu * t)
    s = np.linspace(-14 * w, 14 * w, nodes)  # y = x - s, heat kernel exp(-s^2 / 4 nu t)
    y = x[:, None] - s[None, :]
    expo = -(s[None, :] / w) ** 2 - (np.cos(math.pi * y) - 1) / (2 * math.pi * nu)
    expo -= expo.max(axis=1, keepdims=True)
    wts = np.exp(expo)
    return -(np.sin(math.pi * y) * wts).sum(1) / wts.sum(1)


class Burgers(Problem):
    name = "burgers_user"
    description = "u_t + u u_x = (0.01/pi) u_xx on [-1,1]x[0,1], u(x,0) = -sin(pi x), u = 0 at x = +-1"
    coords = ("x", "t")
    time = "t"
    domain = Box((-1.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces=("x-", "x+"), value=0.0),
        Initial(value=lambda p, x: -torch.sin(math.pi * x[:, :1])),
    )

    def residual(self, x, jet):
        return jet.d("t") + jet.val * jet.d("x") - NU * jet.dd("x")

    def reference(self):
        xs, ts = np.linspace(-1, 1, 256), np.linspace(0, 1, 101)
        u = cached("bench-burgers-256x101-v1", lambda: {"u": np.stack([cole_hopf(xs, t) for t in ts], 1)})["u"]
        return [xs, ts], u[..., None]
