"""-lap(u) + 64 u = f on a square with four holes of different sizes; u given on every edge and rim.

[-1, 1]^2 minus disks of radii 0.1 to 0.3; exact u = sin(2 x) cos(3 y) + exp(-2 ((x - 0.3)^2 + y^2)).
"""

import torch

from pinnkan import Box, Dirichlet, Disk, Problem


def solution(x):
    X, Y = x[:, 0:1], x[:, 1:2]
    return torch.sin(2 * X) * torch.cos(3 * Y) + torch.exp(-2 * ((X - 0.3) ** 2 + Y**2))


def forcing(x):
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        u = solution(x)[:, 0]
        g = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
        lap = sum(torch.autograd.grad(g[:, a].sum(), x, retain_graph=True)[0][:, a] for a in range(2))
    return (-lap + 64 * u).detach()


class HelmholtzHoles(Problem):
    name = "helmholtz_holes"
    description = "-lap u + 64 u = f on [-1,1]^2 minus four disks, Dirichlet everywhere"
    coords = ("x", "y")
    domain = (
        Box((-1.0, -1.0), (1.0, 1.0))
        - Disk((-0.5, -0.5), 0.3)
        - Disk((0.5, -0.4), 0.2)
        - Disk((0.45, 0.5), 0.15)
        - Disk((-0.4, 0.45), 0.1)
    )
    conditions = (Dirichlet(),)

    def residual(self, x, jet):
        return -jet.lap() + 64 * jet.val - forcing(x)

    def exact(self, x):
        return solution(x)
