"""Fit one edge's samples by ``a + b f(c x + d)`` for every function of a library.

For each function: a coarse grid over the free ones of (c, d), with (a, b) by
linear least squares at every grid point (closed form, vectorised), then a
Levenberg–Marquardt polish of all four from each of the best few grid points
(scipy), the best result kept. The
quality of a fit is its R^2 = 1 - SSE / SST on the samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import least_squares

from pinnkan.interpret.library import SymbolicFunction

SCALES = np.concatenate([-np.geomspace(0.05, 12.0, 48)[::-1], np.geomspace(0.05, 12.0, 48)])
SHIFTS = np.linspace(-6.0, 6.0, 49)
GRID_SAMPLES = 200
# grid points a fit is polished from (the best ones by R^2)
STARTS = 6


@dataclass
class EdgeFit:
    """``a + b f(c x + d)`` with its R^2 on the samples it was fitted to."""

    name: str
    a: float
    b: float
    c: float
    d: float
    r2: float

    def params(self) -> tuple[float, float, float, float]:
        return self.a, self.b, self.c, self.d


def _apply(fn: SymbolicFunction, z: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return fn.torch_fn(torch.from_numpy(z)).numpy()


def _valid(fn: SymbolicFunction, z: np.ndarray) -> np.ndarray:
    """Which rows of arguments z (..., N) the function is defined and well behaved on."""
    ok = np.isfinite(z).all(-1)
    if fn.positive_domain:
        ok &= z.min(-1) > 1e-3
    if fn.nonzero_domain:
        ok &= (np.abs(z).min(-1) > 1e-2) & ((z > 0).all(-1) | (z < 0).all(-1))
    return ok


def _linear(g: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best a, b of y ~ a + b g for every row of g (P, N); and R^2 (P,)."""
    gm = g.mean(-1, keepdims=True)
    ym = y.mean()
    gc, yc = g - gm, y - ym
    sgg = (gc * gc).sum(-1)
    sgy = (gc * yc).sum(-1)
    syy = float((yc * yc).sum())
    with np.errstate(all="ignore"):
        b = np.where(sgg > 1e-300, sgy / sgg, 0.0)
        r2 = np.where(sgg > 1e-300, sgy**2 / (sgg * max(syy, 1e-300)), 0.0)
    a = ym - b * gm[..., 0]
    return a, b, r2


def r_squared(y: np.ndarray, pred: np.ndarray) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    if sst <= 0.0:
        return 1.0 if np.allclose(pred, y) else 0.0
    return 1.0 - float(((y - pred) ** 2).sum()) / sst


def fit_edge(fn: SymbolicFunction, x: np.ndarray, y: np.ndarray) -> EdgeFit:
    """The best ``a + b fn(c x + d)`` for samples x, y (N,); R^2 = -inf when nothing valid fits."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if fn.name == "0":
        a = float(y.mean())
        return EdgeFit(fn.name, a, 0.0, 1.0, 0.0, r_squared(y, np.full_like(y, a)))
    cs = SCALES if fn.scale else np.array([1.0])
    ds = SHIFTS if fn.shift else np.array([0.0])
    c, d = (g.ravel() for g in np.meshgrid(cs, ds, indexing="ij"))
    # the coarse grid sees at most GRID_SAMPLES points spread over the sorted inputs; the polish sees all
    full_x, full_y = x, y
    if len(x) > GRID_SAMPLES:
        pick = np.argsort(x)[np.linspace(0, len(x) - 1, GRID_SAMPLES).round().astype(int)]
        x, y = x[pick], y[pick]
    z = c[:, None] * x[None, :] + d[:, None]  # (P, N)
    ok = _valid(fn, z)
    if not ok.any():
        return EdgeFit(fn.name, 0.0, 0.0, 1.0, 0.0, -math.inf)
    g = np.zeros_like(z)
    g[ok] = _apply(fn, z[ok])
    ok &= np.isfinite(g).all(-1)
    if not ok.any():
        return EdgeFit(fn.name, 0.0, 0.0, 1.0, 0.0, -math.inf)
    a, b, r2 = _linear(np.where(ok[:, None], g, 0.0), y)
    r2 = np.where(ok, np.nan_to_num(r2, nan=-np.inf), -np.inf)
    # the polish is local, and a composite such as sin((c x + d)^2) has many basins on the grid: polish
    # from the best few of the grid's local maxima of R^2 (one per basin), not only from the best point
    best = EdgeFit(fn.name, 0.0, 0.0, 1.0, 0.0, -math.inf)
    for i in _basin_tops(r2.reshape(len(cs), len(ds)))[:STARTS]:
        zi = c[i] * full_x + d[i]
        if not _valid(fn, zi[None, :])[0]:  # valid on the subsample only
            continue
        start = EdgeFit(fn.name, float(a[i]), float(b[i]), float(c[i]), float(d[i]), 0.0)
        start.r2 = r_squared(full_y, start.a + start.b * _apply(fn, zi))
        fit = _polish(fn, full_x, full_y, start)
        if fit.r2 > best.r2:
            best = fit
    return best


def _basin_tops(r2: np.ndarray) -> np.ndarray:
    """Flat indices of the grid's local maxima (no higher neighbour among the 8 around) of R^2 (C, D) that
    are finite, best first."""
    padded = np.pad(r2, 1, constant_values=-np.inf)
    top = np.isfinite(r2)
    rows, cols = r2.shape
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                top &= r2 >= padded[1 + di : 1 + di + rows, 1 + dj : 1 + dj + cols]
    flat = np.flatnonzero(top)
    return flat[np.argsort(-r2.ravel()[flat], kind="stable")]


def _polish(fn: SymbolicFunction, x: np.ndarray, y: np.ndarray, start: EdgeFit) -> EdgeFit:
    """Least-squares refinement of the free parameters from a grid point; kept only if it improves R^2."""
    free = [True, True, fn.scale, fn.shift]
    p0 = np.array(start.params())

    def full(p: np.ndarray) -> np.ndarray:
        out = p0.copy()
        out[np.array(free)] = p
        return out

    def residual(p: np.ndarray) -> np.ndarray:
        a, b, c, d = full(p)
        z = c * x + d
        g = _apply(fn, z)
        r = a + b * g - y
        bad = ~np.isfinite(r) | ~_valid(fn, z[None, :])[0]
        return np.where(bad, 1e6, r)

    try:
        sol = least_squares(
            residual, p0[np.array(free)], method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=2000
        )
    except (ValueError, FloatingPointError):
        return start
    a, b, c, d = full(sol.x)
    z = c * x + d
    if not _valid(fn, z[None, :])[0]:
        return start
    r2 = r_squared(y, a + b * _apply(fn, z))
    if not r2 >= start.r2:
        return start
    return EdgeFit(fn.name, float(a), float(b), float(c), float(d), r2)


def choose(fits: list[EdgeFit], complexity: dict[str, int], tolerance: float = 1e-3) -> EdgeFit:
    """The simplest fit whose unexplained variance 1 - R^2 is within ``tolerance`` of the best's (or best's x 2)."""
    best = max(fits, key=lambda f: f.r2)
    bound = max(1.0 - best.r2, 0.0) * 2.0 + tolerance
    good = [f for f in fits if 1.0 - f.r2 <= bound]
    return min(good, key=lambda f: (complexity[f.name], -f.r2))
