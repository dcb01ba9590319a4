"""Heat with a rough coefficient field read from a table: u_t = div(k grad u) + 1 on [0, 1]^2 x [0, 0.5].

k is a 4 x 4 table of values between 0.05 and 2 joined by steep smooth steps (normalised Gaussian weights of
width 0.04 around the cell centres); u = 0 on the sides, u = sin(pi x) sin(pi y) at t = 0.
Reference: second-order finite volumes on a 256^2 grid (k at the faces), Crank-Nicolson with dt = 1e-3,
and Richardson's step against the 128^2 solution; the same step from 64^2 and 128^2 differs from it by at
most 4.5e-5 (u is up to 0.48).
"""

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spl
import torch

from pinnkan import Box, Dirichlet, Initial, Problem
from pinnkan.cache import cached

TABLE = np.array(
    [[1.0, 0.2, 1.5, 0.6], [0.05, 2.0, 0.3, 1.0], [0.8, 0.1, 1.2, 0.4], [2.0, 0.5, 0.07, 1.6]]
)
CENTRES = (np.arange(4) + 0.5) / 4
WIDTH = 0.04
T_END = 0.5


def _weights(s, lib):
    """(N, 4) normalised Gaussian weights of a coordinate s (N,)."""
    c = lib.asarray(CENTRES) if lib is np else torch.as_tensor(CENTRES, dtype=s.dtype, device=s.device)
    w = lib.exp(-((s[:, None] - c[None, :]) ** 2) / (2 * WIDTH**2))
    return w / w.sum(1, keepdims=True) if lib is np else w / w.sum(1, keepdim=True)


def conductivity(x, y, lib=np):
    table = TABLE if lib is np else torch.as_tensor(TABLE, dtype=x.dtype, device=x.device)
    wx, wy = _weights(x, lib), _weights(y, lib)
    return ((wx @ table) * wy).sum(1)


def finite_volumes(n, times, dt=1e-3):
    """u on the (n + 1)^2 nodes at the given times, (len(times), n + 1, n + 1)."""
    h = 1.0 / n
    s = np.linspace(0, 1, n + 1)
    inner = s[1:-1]
    m = n - 1
    X, Y = np.meshgrid(inner, inner, indexing="ij")
    idx = np.arange(m * m).reshape(m, m)
    rows, cols, vals = [], [], []
    diag = np.zeros((m, m))
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        k = conductivity((X + di * h / 2).ravel(), (Y + dj * h / 2).ravel()).reshape(m, m) / h**2
        diag -= k
        ii, jj = np.meshgrid(np.arange(m), np.arange(m), indexing="ij")
        ok = (ii + di >= 0) & (ii + di < m) & (jj + dj >= 0) & (jj + dj < m)
        rows.append(idx[ok])
        cols.append(idx[(ii + di)[ok], (jj + dj)[ok]])
        vals.append(k[ok])
    entries = np.concatenate([diag.ravel(), *vals])
    where = (np.concatenate([idx.ravel(), *rows]), np.concatenate([idx.ravel(), *cols]))
    a = sp.csc_matrix((entries, where), shape=(m * m, m * m))
    eye = sp.identity(m * m, format="csc")
    step = spl.splu((eye - 0.5 * dt * a).tocsc())
    explicit = eye + 0.5 * dt * a
    u = (np.sin(math.pi * X) * np.sin(math.pi * Y)).ravel()
    out, t = [], 0.0
    for target in times:
        for _ in range(int(round((target - t) / dt))):
            u = step.solve(explicit @ u + dt)
        t = target
        full = np.zeros((n + 1, n + 1))
        full[1:-1, 1:-1] = u.reshape(m, m)
        out.append(full)
    return np.array(out)


class HeatRough(Problem):
    name = "heat_rough"
    description = "u_t = div(k grad u) + 1 on the unit square, k a rough field from a 4x4 table, t in [0, 0.5]"
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
            gk = torch.autograd.grad(k.sum(), xy)[0]
        k = k.detach()
        flux = k * (jet.dd("x") + jet.dd("y")) + gk[:, 0] * jet.d("x") + gk[:, 1] * jet.d("y")
        return jet.d("t") - flux - 1.0

    def reference(self):
        times = np.linspace(0, T_END, 26)

        def compute():
            fine = finite_volumes(256, times)
            coarse = finite_volumes(128, times)
            return {"u": fine[:, ::2, ::2] + (fine[:, ::2, ::2] - coarse) / 3}

        u = cached("bench-heat-rough-v1", compute)["u"]  # (t, x, y) on 129^2 nodes
        s = np.linspace(0, 1, 129)
        return [s, s, times], np.transpose(u, (1, 2, 0))[..., None]
