"""Poisson in 10-D: -lap u = f on [0, 1]^10, u = exp(-|x - c|^2 / 2) + 0.5 sin(sum x_i / 2) on the boundary."""

import torch

from pinnkan import Box, Dirichlet, Problem

D = 10


def solution(x):
    r2 = ((x - 0.5) ** 2).sum(1, keepdim=True)
    s = x.sum(1, keepdim=True) / 2
    return torch.exp(-r2 / 2) + 0.5 * torch.sin(s)


class Poisson10D(Problem):
    name = "poisson10d"
    description = "-lap u = f on [0,1]^10 with u = exp(-|x-c|^2/2) + 0.5 sin(sum x / 2)"
    coords = tuple(f"x{i}" for i in range(1, D + 1))
    domain = Box((0.0,) * D, (1.0,) * D)
    conditions = (Dirichlet(),)

    def residual(self, x, jet):
        r2 = ((x - 0.5) ** 2).sum(1)
        g = torch.exp(-r2 / 2)
        lap = g * (r2 - D) - 0.5 * torch.sin(x.sum(1) / 2) * D / 4
        return -jet.lap() + lap

    def exact(self, x):
        return solution(x)
