"""Lid-driven cavity at Re = 100: steady Navier-Stokes on the unit square, fields u, v, p.

The lid (y = 1) moves with u = 1, the other walls are at rest; the pressure is fixed by a gauge p(0, 0) = 0.
Reference: the centre-line velocities of Ghia, Ghia & Shin (1982), Table I (u along x = 0.5) and Table II
(v along y = 0.5), Re = 100 columns.
"""

import numpy as np
import torch

from pinnkan import Box, Dirichlet, PointSet, Problem

RE = 100.0
GHIA_Y = [1.0, 0.9766, 0.9688, 0.9609, 0.9531, 0.8516, 0.7344, 0.6172, 0.5, 0.4531, 0.2813, 0.1719, 0.1016,
          0.0703, 0.0625, 0.0547, 0.0]
GHIA_U = [1.0, 0.84123, 0.78871, 0.73722, 0.68717, 0.23151, 0.00332, -0.13641, -0.20581, -0.2109, -0.15662,
          -0.1015, -0.06434, -0.04775, -0.04192, -0.03717, 0.0]
GHIA_X = [1.0, 0.9688, 0.9609, 0.9531, 0.9453, 0.9063, 0.8594, 0.8047, 0.5, 0.2344, 0.2266, 0.1563, 0.0938,
          0.0781, 0.0703, 0.0625, 0.0]
GHIA_V = [0.0, -0.05906, -0.07391, -0.08864, -0.10313, -0.16914, -0.22445, -0.24533, 0.05454, 0.17527, 0.17507,
          0.16077, 0.12317, 0.1089, 0.10091, 0.09233, 0.0]


class Cavity(Problem):
    name = "cavity"
    description = "lid-driven cavity, steady Navier-Stokes at Re = 100 on the unit square"
    coords = ("x", "y")
    fields = ("u", "v", "p")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces="y+", value=lambda p, x: torch.stack([torch.ones_like(x[:, 0]), 0 * x[:, 0]], 1),
                  fields=("u", "v"), name="lid"),
        Dirichlet(faces=("x-", "x+", "y-"), value=0.0, fields=("u", "v"), name="walls"),
        PointSet(at=[(0.0, 0.0)], value=0.0, fields="p", name="gauge"),
    )

    def residual(self, x, jet):
        u, v, p = jet["u"], jet["v"], jet["p"]
        mom_x = u.val * u.d("x") + v.val * u.d("y") + p.d("x") - (u.dd("x") + u.dd("y")) / RE
        mom_y = u.val * v.d("x") + v.val * v.d("y") + p.d("y") - (v.dd("x") + v.dd("y")) / RE
        return torch.stack([mom_x, mom_y, u.d("x") + v.d("y")], 1)

    def reference_points(self):
        on_x = np.stack([np.full(17, 0.5), GHIA_Y], 1)
        on_y = np.stack([GHIA_X, np.full(17, 0.5)], 1)
        nan = np.full(17, np.nan)
        u = np.concatenate([np.stack([GHIA_U, nan, nan], 1), np.stack([nan, GHIA_V, nan], 1)])
        return np.concatenate([on_x, on_y]), u
