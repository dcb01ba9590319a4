"""Test-set errors of a surrogate, or what can be known without the answer.

With an exact solution, a computed reference or reference data: mse, rel_l2 and
(where gradients are known) h1_mse, rel_h1, defined in :func:`error_metrics`.
With none: the PDE residual on a fixed check set of interior points, separate
from the training points (``residual_mean``, ``residual_max``: mean and max
|residual|), and the conditions' residuals on their own check points
(``bc_mean``, ``bc_max``, initial conditions included).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.jet import autograd_jet, compute_jet

METRICS = ("mse", "rel_l2", "h1_mse", "rel_h1")
CHECK_METRICS = ("residual_mean", "residual_max", "bc_mean", "bc_max")
ALL_METRICS = METRICS + CHECK_METRICS
# seed of the check set of a problem without a solution: far from any run's collocation seeds
CHECK_SEED = 2**20 + 7
CHECK_INTERIOR, CHECK_BOUNDARY = 4096, 512


def error_figures(row: dict) -> dict[str, float]:
    """The error entries of a history row or tracker result: ALL_METRICS and per-field ``<metric>_<field>``."""
    return {k: v for k, v in row.items() if k in ALL_METRICS or k.startswith(tuple(f"{m}_" for m in METRICS))}


def error_metrics(pred: Tensor, grad_pred: Tensor, u: Tensor, grad_u: Tensor) -> dict[str, Tensor]:
    """Errors per field.

    pred, u: (M, F); grad_pred, grad_u: (M, D, F). Returns each of METRICS as (F,):
    mse = mean e^2, rel_l2 = ||e|| / ||u||, h1_mse = mean(e^2 + |grad e|^2),
    rel_h1 = sqrt(sum(e^2 + |grad e|^2)) / sqrt(sum(u^2 + |grad u|^2)).
    A non-finite entry of grad_u (a singular point, where the gradient is infinite) adds no gradient term;
    a non-finite entry of u (reference data that does not know that field there) leaves that point and field
    out, and a field known nowhere gets NaN.
    """
    known = torch.isfinite(u)
    e = torch.where(known, pred - u, 0.0)
    u = torch.where(known, u, 0.0)
    finite = torch.isfinite(grad_u) & known[:, None, :]
    ge = torch.where(finite, grad_pred - grad_u, 0.0)
    gu = torch.where(finite, grad_u, 0.0)
    e2 = e.square()
    h1 = e2 + ge.square().sum(1)
    count = known.sum(0).to(u.dtype)
    count = torch.where(count > 0, count, torch.nan)
    return {
        "mse": e2.sum(0) / count,
        "rel_l2": e2.sum(0).sqrt() / u.square().sum(0).sqrt() * count / count,
        "h1_mse": h1.sum(0) / count,
        "rel_h1": h1.sum(0).sqrt() / (u.square() + gu.square().sum(1)).sum(0).sqrt() * count / count,
    }


def chunks(x: Tensor, size: int) -> list[Tensor]:
    """x (M, D) in row blocks of at most ``size``; x itself when it fits in one, so that what a surrogate keeps
    per point set (a hard constraint's data rows, :mod:`pinnkan.constraint`) is found again on the next call."""
    return [x] if x.shape[0] <= size else list(x.split(size))


def pde_residual(problem, model, x: Tensor, engine: str, chunk: int = 8192) -> Tensor:
    """|PDE residual| (M,) of ``model`` at x (M, D), the largest component for a system; in chunks of
    ``chunk`` points, detached."""
    from pinnkan.unknowns import estimates

    layout = problem.jet_layout()
    out = []
    for xc in chunks(x, chunk):
        jet = compute_jet(engine, model, xc, layout, problem.coords, problem.fields, False)
        with estimates(problem, model):
            out.append(problem.residual(xc, jet).detach().reshape(len(xc), -1).abs().amax(1))
    return torch.cat(out)


def check_exact(problem, x: Tensor) -> None:
    """The exact solution must be a finite (M, F) tensor at the test points x (M, D)."""
    from pinnkan.errors import UserError

    m, f = x.shape[0], len(problem.fields)
    try:
        u = problem.exact(x)
    except Exception as exc:  # the user's code: one line
        raise UserError(f"problem {problem.name!r}: exact(x) failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(u, Tensor) or tuple(u.shape) != (m, f):
        shape = tuple(u.shape) if isinstance(u, Tensor) else type(u).__name__
        raise UserError(f"problem {problem.name!r}: exact(x) must return shape (N, {f}) for x (N, D); got {shape}")
    bad = int((~torch.isfinite(u)).any(1).sum())
    if bad:
        raise UserError(f"problem {problem.name!r}: exact(x) is not finite at {bad} of {m} test points")


class ErrorTracker:
    """The fixed test set of a problem and the errors of a surrogate on it.

    ``measure`` says what is known: "exact" (x (M, D), u (M, F), grad_u (M, D, F) by
    autograd of the exact solution), "reference" (a computed reference on its grid,
    gradients by finite differences), "data" (``reference_data``, e.g. from
    ``--reference FILE``; gradients only where given) or "residual" (no solution:
    the check-set residuals). ``keys`` lists the figures a call returns. Reference
    data, when given, wins over the problem's own solution.
    """

    def __init__(
        self,
        problem,
        dtype: torch.dtype = torch.float64,
        device: str = "cpu",
        chunk: int = 16384,
        reference_data=None,
    ) -> None:
        self.problem, self.chunk = problem, chunk
        self.grad_u = None
        self.check_points: list[Tensor] = []
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64).to(device=device, dtype=dtype)  # noqa: E731
        if reference_data is None and not problem.has_exact and problem.has_reference_points:
            reference_data = problem.reference_data()
        if reference_data is not None:
            self.measure = "data"
            self.x, self.u = as_t(reference_data.x), as_t(reference_data.u)
            if reference_data.grad is not None:
                self.grad_u = as_t(reference_data.grad)
        elif problem.has_exact:
            self.measure = "exact"
            x = torch.as_tensor(problem.test_points(), dtype=torch.float64)
            jet = autograd_jet(problem.exact, x, 1, problem.coords, problem.fields, create_graph=False)
            self.x, self.u, self.grad_u = as_t(x), as_t(jet.value), as_t(jet.grad)
        elif problem.has_reference:
            self.measure = "reference"
            xs, us, gs = problem.reference_test_set()
            self.x, self.u, self.grad_u = as_t(xs), as_t(us), as_t(gs)
        else:
            self.measure = "residual"
            self.x, self.u = as_t(problem.interior(CHECK_INTERIOR, CHECK_SEED)), None
            self.check_points = [
                as_t(c.points(problem, CHECK_BOUNDARY, CHECK_SEED + 101 * (i + 1)))
                for i, c in enumerate(problem.conditions)
            ]

    @property
    def keys(self) -> tuple[str, ...]:
        """The figures a call returns (besides per-field ones)."""
        if self.measure == "residual":
            return CHECK_METRICS
        return METRICS if self.grad_u is not None else METRICS[:2]

    def predict(self, model, engine: str) -> tuple[Tensor, Tensor]:
        """Prediction (M, F) and its gradient (M, D, F) on the test set."""
        vals, grads = [], []
        p = self.problem
        for xc in chunks(self.x, self.chunk):
            jet = compute_jet(engine, model, xc, 1, p.coords, p.fields, create_graph=False)
            vals.append(jet.value.detach())
            grads.append(jet.grad.detach())
        return torch.cat(vals), torch.cat(grads)

    def residuals(self, model, engine: str) -> dict[str, float]:
        """residual_mean/max of |PDE residual| on the check set and bc_mean/max over every condition's."""
        p = self.problem
        r = pde_residual(p, model, self.x, engine, self.chunk)
        cond = []
        from pinnkan.unknowns import estimates

        for i, (c, x) in enumerate(zip(p.conditions, self.check_points)):
            jet = compute_jet(engine, model, x, p.condition_layout(i), p.coords, p.fields, create_graph=False)
            with estimates(p, model):
                cond.append(c.residual(p, x, jet).detach().reshape(-1).abs())
        b = torch.cat(cond) if cond else r.new_zeros(1)
        return {
            "residual_mean": float(r.mean()),
            "residual_max": float(r.max()),
            "bc_mean": float(b.mean()),
            "bc_max": float(b.max()),
        }

    def __call__(self, model, engine: str = "autograd") -> dict[str, float]:
        """``keys`` (mean over fields) and, with several fields, each solution error per field."""
        if self.measure == "residual":
            return self.residuals(model, engine)
        pred, grad = self.predict(model, engine)
        grad_u = self.grad_u if self.grad_u is not None else grad  # no gradient given: H1 parts unused
        per_field = {k: v for k, v in error_metrics(pred, grad, self.u, grad_u).items() if k in self.keys}
        out = {m: float(v.nanmean()) for m, v in per_field.items()}
        if len(self.problem.fields) > 1:
            for m, v in per_field.items():
                for name, val in zip(self.problem.fields, v.tolist()):
                    if val == val:  # a field the reference data never gives has no figure
                        out[f"{m}_{name}"] = val
        return out


def make_tracker(problem, cfg: dict[str, dict[str, Any]], dtype=torch.float64, device="cpu") -> ErrorTracker:
    """The run's error tracker: against ``data.reference`` when set, else the problem's own solution (or,
    without one, its check-set residuals)."""
    from pinnkan.reference_data import read_reference

    path = cfg["data"].get("reference")
    data = read_reference(path, problem) if path else None
    return ErrorTracker(problem, dtype=dtype, device=device, reference_data=data)
