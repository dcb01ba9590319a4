"""Heat through a high-contrast medium: u_t = div(k grad u) + 1/2 on [0, 1]^2 x [0, 0.5].

k is 0.1 in the background, 3 in a disk of radius 0.2 centred at (0.6, 0.4) and 1 in the strip x < 0.3,
joined by logistic steps of width 0.03 (a contrast of 30); u = 0 on the sides, u = sin(pi x) sin(pi y) at
t = 0. Reference: finite volumes on a 256^2 grid (k at the cell faces), Crank-Nicolson with dt = 1e-3, and
Richardson's step against the 128^2 solution (second order in space: tests/test_benchmarks.py).
"""

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

from pinnkan import Box, Dirichlet, Initial, Problem
from pinnkan.cache import cached

T_END = 0.5
WIDTH = 0.03


def conductivity(x, y, lib=np):
    """k at points (x, y), arrays of one shape; ``lib`` is numpy or torch."""
    step = lambda s: 1 / (1 + lib.exp(-s / WIDTH))  # noqa: E731
    disk = step(0.2 - lib.sqrt((x - 0.6) ** 2 + (y - 0.4) ** 2))
    strip = step(0.3 - x)
    return 0.1 + 2.9 * disk + 0.9 * strip


def finite_volumes(n, times, dt=1e-3):
    """u on the (n + 1)^2 grid nodes at the given times, (len(times), n + 1, n + 1)."""
    h = 1.0 / n
    m = n - 1
    inner = np.linspace(0, 1, n + 1)[1:-1]
    X, Y = np.meshgrid(inner, inner, indexing="ij")
    east, west = conductivity(X + h / 2, Y), conductivity(X - h / 2, Y)
    north, south = conductivity(X, Y + h / 2), conductivity(X, Y - h / 2)
    up, down = north.copy(), south.copy()
    up[:, -1], down[:, 0] = 0.0, 0.0  # no coupling across the y = const boundary rows
    diagonals = [-(east + west + north + south).ravel(), east[:-1].ravel(), west[1:].ravel()]
    diagonals += [up.ravel()[:-1], down.ravel()[1:]]
    a = sp.diags(diagonals, [0, m, -m, 1, -1], format="csc") / h**2
    eye = sp.identity(m * m, format="csc")
    implicit = spl.splu((eye - 0.5 * dt * a).tocsc())
    explicit = eye + 0.5 * dt * a
    u = (np.sin(math.pi * X) * np.sin(math.pi * Y)).ravel()
    frames, t = [], 0.0
    for target in times:
        for _ in range(int(round((target - t) / dt))):
            u = implicit.solve(explicit @ u + 0.5 * dt)
        t = target
        frame = np.zeros((n + 1, n + 1))
        frame[1:-1, 1:-1] = u.reshape(m, m)
        frames.append(frame)
    return np.array(frames)


class HeatInclusion(Problem):
    name = "heat_inclusion"
    description = "u_t = div(k grad u) + 1/2 on the unit square, k 0.1 / 1 / 3 with steep steps, t in [0, 0.5]"
    coords = ("x", "y", "t")
    domain = Box((0.0, 0.0, 0.0), (1.0, 1.0, T_END))
    conditions = (
        Dirichlet(faces=("x-", "x+", "y-", "y+"), value=0.0),
        Initial(value=lambda p, x: torch.sin(math.pi * x[:, :1]) * torch.sin(math.pi * x[:, 1:2])),
    )

    def residual(self, x, jet):
        xy = x[:, :2].detach().requires_grad_(True)
        with torch.enable_grad():
            k = conductivity(xy[:, 0], xy[:, 1], torch)
            grad_k = torch.autograd.grad(k.sum(), xy)[0]
        k = k.detach()
        div = k * (jet.dd("x") + jet.dd("y")) + grad_k[:, 0] * jet.d("x") + grad_k[:, 1] * jet.d("y")
        return jet.d("t") - div - 0.5

    def reference(self):
        times = np.linspace(0, T_END, 26)

        def compute():
            fine, coarse = finite_volumes(256, times), finite_volumes(128, times)
            return {"u": fine[:, ::2, ::2] + (fine[:, ::2, ::2] - coarse) / 3}

        u = cached("bench-heat-inclusion-v1", compute)["u"]  # (t, x, y) on 129^2 nodes
        s = np.linspace(0, 1, 129)
        return [s, s, times], np.transpose(u, (1, 2, 0))[..., None]
