"""Observations of the solution: the data term of an inverse problem.

``--data FILE`` (``data.observations``) is a CSV with a header or an NPZ of 1-D
arrays: every coordinate of the problem, one or more of its fields (not
necessarily all: a field without a column is unobserved), and optionally the
noise level of each point, ``sigma`` (every field) or ``sigma_<field>``. Any
other column is refused, as are NaN entries and points outside the domain.
Built-in inverse problems make their own synthetic observations
(``Problem.observations``).

The loss gains ``data_weight * data_loss``, with

    data_loss = sum_{i, f observed} w_if (u_f(x_i) - d_if)^2 / (number of observed entries),

w = 1 / sigma^2 scaled to mean 1 over the observed entries (all 1 without sigma),
so that the weight of the term does not depend on the units of sigma.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinnkan.errors import UserError


@dataclass(frozen=True)
class Observations:
    """Points x (M, D); values (M, F), NaN where a field is not observed; weights (M, F), 0 there."""

    x: np.ndarray
    values: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, values: np.ndarray, sigma: np.ndarray | None = None) -> Observations:
        """From values (NaN: unobserved) and optional noise levels sigma (M, F) or (M, 1)."""
        observed = np.isfinite(values)
        w = np.ones_like(values) if sigma is None else 1.0 / np.broadcast_to(sigma, values.shape) ** 2
        w = np.where(observed, w, 0.0)
        w = w / w[observed].mean()
        return cls(np.asarray(x, float), np.asarray(values, float), w)

    @property
    def count(self) -> int:
        """The number of observed entries."""
        return int(np.isfinite(self.values).sum())


def read_observations(path: str | Path, problem, option: str = "--data") -> Observations:
    """The observations in ``path`` for ``problem``; a one-line UserError for anything wrong with them."""
    from pinnkan.reference_data import read_columns, refuse_outside

    p = Path(path)
    if not p.is_file():
        raise UserError(f"{option} {str(p)!r}: no such file")
    cols = read_columns(p, option)
    coords, fields = tuple(problem.coords), tuple(problem.fields)
    allowed = {*coords, *fields, "sigma", *(f"sigma_{f}" for f in fields)}
    extra = [c for c in cols if c not in allowed]
    if extra:
        raise UserError(
            f"{option} {str(p)!r}: column {extra[0]!r} is not a coordinate ({', '.join(coords)}), a field "
            f"({', '.join(fields)}) or a noise level (sigma, sigma_<field>)"
        )
    missing = [c for c in coords if c not in cols]
    if missing:
        raise UserError(f"{option} {str(p)!r}: no column for coordinate(s) {', '.join(missing)}")
    seen = [f for f in fields if f in cols]
    if not seen:
        raise UserError(f"{option} {str(p)!r}: no observed field; give a column for one of {', '.join(fields)}")
    x = np.stack([cols[c] for c in coords], axis=1)
    if len(x) == 0:
        raise UserError(f"{option} {str(p)!r} holds no observations")
    values = np.stack([cols[f] if f in cols else np.full(len(x), np.nan) for f in fields], axis=1)
    sigma = None
    if "sigma" in cols or any(f"sigma_{f}" in cols for f in fields):
        base = cols.get("sigma", np.ones(len(x)))
        sigma = np.stack([cols.get(f"sigma_{f}", base) for f in fields], axis=1)
    given = np.stack([cols[c] for c in (*coords, *seen)], axis=1)
    bad = ~np.isfinite(given).all(1)
    if sigma is not None:
        bad |= ~(np.isfinite(sigma).all(1) & (sigma > 0).all(1))
    if bad.any():
        raise UserError(
            f"{option} {str(p)!r}: {int(bad.sum())} row(s) with NaN, infinite or non-positive sigma entries "
            f"(first at data row {int(np.argmax(bad))})"
        )
    refuse_outside(problem, x, f"{option} {str(p)!r}")
    return Observations.of(x, values, sigma)


def synthetic(problem, solution, n: int, noise: float, seed: int) -> Observations:
    """n observations at uniform random interior points (``seed``) of ``solution(x (n, D)) -> (n, F)``,
    with Gaussian noise of standard deviation ``noise`` times that of the values, per field."""
    rng = np.random.default_rng(seed)
    x = problem.interior(n, seed=seed, method="uniform")
    u = np.asarray(solution(x), dtype=float).reshape(n, -1)
    if noise > 0:
        u = u + noise * u.std(axis=0, keepdims=True) * rng.standard_normal(u.shape)
    return Observations.of(x, u)
