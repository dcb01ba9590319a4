"""Stokes flow (a system): -lap(u) + grad(p) = f, div(u) = 0 on [0, 1]^2, fields u, v, p.

Velocity given on every side, the pressure fixed by p(0.5, 0.5) = its exact value. Exact (divergence-free):
u = pi sin(pi x)^2 sin(2 pi y), v = -pi sin(2 pi x) sin(pi y)^2, p = cos(pi x) cos(pi y).
"""

import math

import torch

from pinnkan import Box, Dirichlet, PointSet, Problem

PI = math.pi


def solution(x):
    X, Y = x[:, 0], x[:, 1]
    u = PI * torch.sin(PI * X) ** 2 * torch.sin(2 * PI * Y)
    v = -PI * torch.sin(2 * PI * X) * torch.sin(PI * Y) ** 2
    p = torch.cos(PI * X) * torch.cos(PI * Y)
    return torch.stack([u, v, p], 1)


def forcing(x):
    """f = -lap(u) + grad(p) of the exact solution, by autograd."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        s = solution(x)
        out = []
        gp = torch.autograd.grad(s[:, 2].sum(), x, create_graph=True)[0]
        for i in range(2):
            g = torch.autograd.grad(s[:, i].sum(), x, create_graph=True)[0]
            lap = sum(torch.autograd.grad(g[:, a].sum(), x, retain_graph=True)[0][:, a] for a in range(2))
            out.append(-lap + gp[:, i])
    return torch.stack(out, 1).detach()


class Stokes(Problem):
    name = "stokes"
    description = "Stokes flow on the unit square, velocity on the walls, pressure gauge at the centre"
    coords = ("x", "y")
    fields = ("u", "v", "p")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(fields=("u", "v")), PointSet(at=[(0.5, 0.5)], fields="p", name="gauge"))

    def residual(self, x, jet):
        u, v, p = jet["u"], jet["v"], jet["p"]
        f = forcing(x)
        return torch.stack(
            [-u.lap() + p.d("x") - f[:, 0], -v.lap() + p.d("y") - f[:, 1], u.d("x") + v.d("y")], 1
        )

    def exact(self, x):
        return solution(x)
