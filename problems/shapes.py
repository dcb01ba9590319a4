"""Problems on shapes other than a box: a disk, an L, a disk with mixed boundary conditions, a plate with a
hole over time."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch
from torch import Tensor

from pinnkan.cache import cached
from pinnkan.jet import Jet
from pinnkan.problem import Box, Dirichlet, Disk, Initial, Neumann, Polygon, Problem, Robin, SpaceTime

PI = math.pi
L_VERTICES = ((-1.0, -1.0), (0.0, -1.0), (0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (-1.0, 1.0))
# corner singularity r^(2/3) sin(2 theta / 3): the five-point scheme's L2 error falls as h^(4/3)
L_ORDER = 4.0 / 3.0


def lshape_five_point(n: int) -> tuple[np.ndarray, np.ndarray]:
    """-lap u = 1 on the L, u = 0 on its boundary, by the five-point scheme on the (n+1)^2 grid of spacing 2/n
    over [-1, 1]^2 (n even). Returns the axis (n+1,) and u (n+1, n+1), 0 on and outside the boundary."""
    h = 2.0 / n
    axis = np.linspace(-1.0, 1.0, n + 1)
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    # interior nodes: off the square's edges and off the closed notch [0, 1] x [-1, 0]
    unknown = (i > 0) & (i < n) & (j > 0) & (j < n) & ~((i >= n // 2) & (j <= n // 2))
    index = np.full(unknown.shape, -1, dtype=np.int64)
    m = int(unknown.sum())
    index[unknown] = np.arange(m)
    ii, jj = np.nonzero(unknown)
    rows, cols, vals = [np.arange(m)], [np.arange(m)], [np.full(m, 4.0)]
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nb = index[ii + di, jj + dj]
        ok = nb >= 0  # neighbours on the boundary hold u = 0 and drop out
        rows.append(np.flatnonzero(ok))
        cols.append(nb[ok])
        vals.append(-np.ones(int(ok.sum())))
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, m))
    u = np.zeros((n + 1, n + 1))
    u[unknown] = spl.spsolve(a, np.full(m, h * h))
    return axis, u


def lshape_reference(n: int = 1000, every: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """The five-point solutions for n and n/2 with Richardson's step for their h^(4/3) error, on every
    ``every``-th node of the fine grid. Its own error is far below the PINN's: successive corrected solutions
    differ by relative L2 2.0e-5 (n = 256 to 512) and 6.0e-6 (512 to 1024), `python scripts/lshape_reference.py`."""
    axis, fine = lshape_five_point(n)
    _, coarse = lshape_five_point(n // 2)
    fine_on_coarse = fine[::2, ::2]
    better = fine_on_coarse + (fine_on_coarse - coarse) / (2**L_ORDER - 1)
    step = every // 2
    return axis[::every], better[::step, ::step]


class PoissonDisk(Problem):
    """-lap u = (pi^2 - 1) e^x sin(pi y) on the unit disk, u = e^x sin(pi y) (Dirichlet on the circle)."""

    name = "poisson_disk"
    description = "-Laplace(u) = (pi^2-1) e^x sin(pi y) on the unit disk, u = e^x sin(pi y) on the circle"
    coords = ("x", "y")
    domain = Disk((0.0, 0.0), 1.0, name="circle")
    conditions = (Dirichlet(),)
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_hidden": [10],
        "kan_k": 3,
        "n_interior": 4000,
        "n_boundary": 800,
        "alpha": 0.01,
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap() + (PI**2 - 1) * torch.exp(x[:, 0]) * torch.sin(PI * x[:, 1])

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(x[:, 0]) * torch.sin(PI * x[:, 1])).unsqueeze(1)


class PoissonLShape(Problem):
    """-lap u = 1 on the L (-1, 1)^2 minus [0, 1] x [-1, 0], u = 0 on its boundary; the re-entrant corner at
    the origin makes u ~ r^(2/3) there. Reference: the five-point scheme with Richardson's step (cached)."""

    name = "poisson_lshape"
    description = "-Laplace(u) = 1 on the L-shape (-1,1)^2 minus [0,1]x[-1,0], u = 0 (finite-difference reference)"
    coords = ("x", "y")
    domain = Polygon(L_VERTICES)
    conditions = (Dirichlet(value=0.0),)
    # u = N + c1 r^(2/3) sin(2 theta / 3) + c2 r^(4/3) sin(4 theta / 3) at the corner, c trained with N
    enrichment = domain.corner_singularities()
    # with the corner functions: [2,10,10,1] rel_l2 3.0e-4 (median of 3 seeds, 152 s), [2,10,1] 7.3e-4 (28 s);
    # without them 5.0e-3 and 1.5e-2 (8.5e-3 for [2,10,10,1] with train.resample=rad)
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_k": 3,
        "n_interior": 4000,
        "n_boundary": 800,
        "alpha": 0.01,
        "optimizer": "adam+lm",
        "steps": 30,
        "kan_hidden": [10, 10],
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap() + 1.0

    def reference(self) -> tuple[list[np.ndarray], np.ndarray]:
        """101 x 101 grid over [-1, 1]^2 (spacing 0.02); NaN in the notch."""

        def compute():
            axis, u = lshape_reference()
            return {"axis": axis, "u": u}

        data = cached("poisson_lshape_fd1000_r", compute)
        axis, u = data["axis"], data["u"].copy()
        x, y = np.meshgrid(axis, axis, indexing="ij")
        u[(x > 0) & (y < 0)] = np.nan  # the open notch; its edges are boundary, u = 0 there
        return [axis, axis], u[..., None]


class LaplaceMixed(Problem):
    """lap u = 0 on the unit disk, u = e^x cos y + x y, with three kinds of condition on three arcs."""

    name = "laplace_mixed"
    description = (
        "Laplace(u) = 0 on the unit disk, u = e^x cos(y) + xy: Dirichlet on the upper half circle, Neumann on "
        "the lower left quarter, Robin u + du/dn = g on the lower right"
    )
    coords = ("x", "y")
    domain = Disk((0.0, 0.0), 1.0, name="circle")
    conditions = (
        Dirichlet(where=lambda x: x[:, 1] >= 0),
        Neumann(value=lambda p, x: p.normal_derivative(x), where=lambda x: (x[:, 1] < 0) & (x[:, 0] < 0)),
        Robin(
            a=1.0,
            b=1.0,
            value=lambda p, x: p.exact(x)[:, 0] + p.normal_derivative(x),
            where=lambda x: (x[:, 1] < 0) & (x[:, 0] >= 0),
        ),
    )
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_hidden": [10],
        "kan_k": 3,
        "n_interior": 4000,
        "n_boundary": 400,
        "alpha": 0.01,
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.lap()

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(x[:, 0]) * torch.cos(x[:, 1]) + x[:, 0] * x[:, 1]).unsqueeze(1)

    def normal_derivative(self, x: Tensor) -> Tensor:
        """(N,) du/dn of the exact solution on the unit circle, n = x."""
        ux = torch.exp(x[:, 0]) * torch.cos(x[:, 1]) + x[:, 1]
        uy = -torch.exp(x[:, 0]) * torch.sin(x[:, 1]) + x[:, 0]
        return x[:, 0] * ux + x[:, 1] * uy


class HeatHole(Problem):
    """u_t = lap u + f on the unit square with a round hole, t in [0, 1]; u = e^-t sin(pi x) sin(pi y)."""

    name = "heat_hole"
    description = (
        "u_t = Laplace(u) + f on [0,1]^2 minus a disk of radius 0.2 at the centre, t in [0,1]; "
        "u = exp(-t) sin(pi x) sin(pi y) (manufactured)"
    )
    coords = ("x", "y", "t")
    time = "t"
    domain = SpaceTime(Box((0.0, 0.0), (1.0, 1.0)) - Disk((0.5, 0.5), 0.2, name="hole"), (0.0, 1.0))
    conditions = (Dirichlet(faces=("space",)), Initial())
    defaults = {
        "model": "kan",
        "hard_bc": False,
        "kan_hidden": [10],
        "kan_k": 3,
        "n_interior": 4000,
        "n_boundary": 800,
        "n_initial": 400,
        "alpha": 0.1,
        "optimizer": "adam+lm",
        "steps": 30,
    }

    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        return jet.d("t") - jet.dd("x") - jet.dd("y") - (2 * PI**2 - 1) * self.exact(x)[:, 0]

    def exact(self, x: Tensor) -> Tensor:
        return (torch.exp(-x[:, 2]) * torch.sin(PI * x[:, 0]) * torch.sin(PI * x[:, 1])).unsqueeze(1)
