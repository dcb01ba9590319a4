"""Laplace on a square with four round holes: u = 1 on the outer edges, u = 0 on the holes.

[-0.5, 0.5]^2 minus four disks of radii 0.08 to 0.12 (HOLES).
Reference: the method of particular solutions. u - 1 is written as a sum, per hole j, of
a_j log r_j + sum_n r_j^-n (b_jn cos n theta_j + c_jn sin n theta_j), plus harmonic polynomials
Re/Im z^n; the coefficients fit the boundary data by least squares on 2000 points per curve.
Everything is analytic in the closed domain (the data is constant on each edge), so the fit
converges exponentially: with 30 terms per hole and degree 80 the largest error on the boundary is
about 2e-11, and by the maximum principle (the error is harmonic) none inside is larger
(tests/test_benchmarks.py checks the boundary error).
"""

import numpy as np

from pinnkan import Box, Dirichlet, Disk, Problem
from pinnkan.cache import cached

TERMS, DEGREE = 30, 80
HOLES = (((-0.25, -0.2), 0.1), ((0.25, -0.25), 0.12), ((0.2, 0.22), 0.08), ((-0.2, 0.25), 0.1))


def _basis(x, y, terms, degree):
    cols = [np.ones_like(x)]
    z = (x + 1j * y) / 0.5
    for n in range(1, degree + 1):
        zn = z**n
        cols += [zn.real, zn.imag]
    for (cx, cy), r in HOLES:
        w = ((x - cx) + 1j * (y - cy)) / r
        cols.append(np.log(np.abs(w)))
        for n in range(1, terms + 1):
            wn = w ** (-n)
            cols += [wn.real, wn.imag]
    return np.stack(cols, 1)


def fit(terms=TERMS, degree=DEGREE, per_curve=3000):
    s = np.linspace(-0.5, 0.5, per_curve)
    edge = [np.stack([s, np.full_like(s, v)], 1) for v in (-0.5, 0.5)]
    edge += [np.stack([np.full_like(s, v), s], 1) for v in (-0.5, 0.5)]
    pts, vals = [np.concatenate(edge)], [np.ones(4 * per_curve)]
    th = np.linspace(0, 2 * np.pi, per_curve, endpoint=False)
    for (cx, cy), r in HOLES:
        pts.append(np.stack([cx + r * np.cos(th), cy + r * np.sin(th)], 1))
        vals.append(np.zeros(per_curve))
    p, v = np.concatenate(pts), np.concatenate(vals)
    a = _basis(p[:, 0], p[:, 1], terms, degree)
    scale = np.linalg.norm(a, axis=0)
    coef = np.linalg.lstsq(a / scale, v, rcond=None)[0] / scale
    return coef


def evaluate(coef, x, y, terms=TERMS, degree=DEGREE):
    return _basis(x, y, terms, degree) @ coef


class LaplaceHoles(Problem):
    name = "laplace_holes"
    description = "Laplace on [-0.5,0.5]^2 minus four disks; u = 1 outside, u = 0 on the holes"
    coords = ("x", "y")
    domain = (
        Box((-0.5, -0.5), (0.5, 0.5))
        - Disk(HOLES[0][0], HOLES[0][1], name="hole0")
        - Disk(HOLES[1][0], HOLES[1][1], name="hole1")
        - Disk(HOLES[2][0], HOLES[2][1], name="hole2")
        - Disk(HOLES[3][0], HOLES[3][1], name="hole3")
    )
    conditions = (
        Dirichlet(faces=("x-", "x+", "y-", "y+"), value=1.0, name="outer"),
        Dirichlet(faces=tuple(f"hole{i}" for i in range(4)), value=0.0, name="holes"),
    )

    def residual(self, x, jet):
        return jet.lap()

    def reference(self):
        ax = np.linspace(-0.5, 0.5, 201)
        X, Y = np.meshgrid(ax, ax, indexing="ij")

        def compute():
            inside = self.domain.contains(np.stack([X.ravel(), Y.ravel()], 1))
            u = np.full(X.size, np.nan)
            u[inside] = evaluate(fit(), X.ravel()[inside], Y.ravel()[inside])
            return {"u": u.reshape(X.shape)}

        u = cached("bench-laplace-holes-201-v2", compute)["u"]
        return [ax, ax], u[..., None]
