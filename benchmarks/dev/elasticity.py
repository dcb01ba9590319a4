"""Linear elasticity (plane strain) on [0, 1]^2: mu lap(u) + (lambda + mu) grad(div u) + f = 0.

Displacement fields u, v, clamped on every side; f made from the exact solution
u = 0.1 sin(pi x) sin(pi y), v = 0.05 sin(2 pi x) sin(pi y) (x + 1); lambda = 1.5, mu = 0.5.
"""

import math

import torch

from pinnkan import Box, Dirichlet, Problem

LAMBDA, MU = 1.5, 0.5
PI = math.pi


def solution(x):
    X, Y = x[:, 0], x[:, 1]
    u = 0.1 * torch.sin(PI * X) * torch.sin(PI * Y)
    v = 0.05 * torch.sin(2 * PI * X) * torch.sin(PI * Y) * (X + 1)
    return torch.stack([u, v], 1)


def body_force(x):
    """-(mu lap u + (lambda + mu) grad div u) of the exact solution, by autograd."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        w = solution(x)
        grads = [torch.autograd.grad(w[:, i].sum(), x, create_graph=True)[0] for i in range(2)]
        div = grads[0][:, 0] + grads[1][:, 1]
        gdiv = torch.autograd.grad(div.sum(), x, create_graph=True)[0]
        out = []
        for i in range(2):
            lap = sum(torch.autograd.grad(grads[i][:, a].sum(), x, create_graph=True)[0][:, a] for a in range(2))
            out.append(-(MU * lap + (LAMBDA + MU) * gdiv[:, i]))
    return torch.stack(out, 1).detach()


class Elasticity(Problem):
    name = "elasticity"
    description = "plane-strain linear elasticity on the unit square, clamped, manufactured body force"
    coords = ("x", "y")
    fields = ("u", "v")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(value=0.0),)

    def residual(self, x, jet):
        u, v = jet["u"], jet["v"]
        div_x = u.dd("x") + v.d("x", "y")
        div_y = u.d("x", "y") + v.dd("y")
        f = body_force(x)
        rx = MU * (u.dd("x") + u.dd("y")) + (LAMBDA + MU) * div_x + f[:, 0]
        ry = MU * (v.dd("x") + v.dd("y")) + (LAMBDA + MU) * div_y + f[:, 1]
        return torch.stack([rx, ry], 1)

    def exact(self, x):
        return solution(x)
