"""Nonlinear heat over a long horizon: u_t = 0.01 u_xx - u^3 + f on [0, 1] x [0, 100].

f is made from the exact solution u = sin(pi x) (1 + 0.5 sin(pi t / 10)) exp(-t / 50) + 0.3 sin(3 pi x) cos(pi t / 25),
u = 0 at both ends, initial data from it.
"""

import math

import torch

from pinnkan import Box, Dirichlet, Initial, Problem

PI = math.pi


def solution(x):
    X, t = x[:, 0:1], x[:, 1:2]
    return torch.sin(PI * X) * (1 + 0.5 * torch.sin(PI * t / 10)) * torch.exp(-t / 50) + 0.3 * torch.sin(
        3 * PI * X
    ) * torch.cos(PI * t / 25)


def source(x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        u = solution(x)[:, 0]
        g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
        uxx = torch.autograd.grad(g[:, 0].sum(), x)[0][:, 0]
    return (g[:, 1] - 0.01 * uxx + u**3).detach()


class HeatLong(Problem):
    name = "heat_long"
    description = "u_t = 0.01 u_xx - u^3 + f on [0,1] x [0,100], manufactured slowly oscillating solution"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 100.0))
    conditions = (Dirichlet(faces=("x-", "x+"), value=0.0), Initial(value=lambda p, x: solution(x)))

    def residual(self, x, jet):
        return jet.d("t") - 0.01 * jet.dd("x") + jet.val**3 - source(x)

    def exact(self, x):
        return solution(x)
