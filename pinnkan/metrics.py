"""Test-set errors of a surrogate: mse, rel_l2, h1_mse, rel_h1 (defined in error_metrics)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pinnkan.jet import autograd_jet, compute_jet

METRICS = ("mse", "rel_l2", "h1_mse", "rel_h1")


def error_figures(row: dict) -> dict[str, float]:
    """The error entries of a history row or tracker result: METRICS and their per-field ``<metric>_<field>``."""
    return {k: v for k, v in row.items() if k in METRICS or k.startswith(tuple(f"{m}_" for m in METRICS))}


def error_metrics(pred: Tensor, grad_pred: Tensor, u: Tensor, grad_u: Tensor) -> dict[str, Tensor]:
    """Errors per field.

    pred, u: (M, F); grad_pred, grad_u: (M, D, F). Returns each of METRICS as (F,):
    mse = mean e^2, rel_l2 = ||e|| / ||u||, h1_mse = mean(e^2 + |grad e|^2),
    rel_h1 = sqrt(sum(e^2 + |grad e|^2)) / sqrt(sum(u^2 + |grad u|^2)).
    """
    e = pred - u
    ge = grad_pred - grad_u
    e2 = e.square()
    h1 = e2 + ge.square().sum(1)
    return {
        "mse": e2.mean(0),
        "rel_l2": e2.sum(0).sqrt() / u.square().sum(0).sqrt(),
        "h1_mse": h1.mean(0),
        "rel_h1": h1.sum(0).sqrt() / (u.square() + grad_u.square().sum(1)).sum(0).sqrt(),
    }


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
    """Fixed test set of a problem and the errors of a surrogate on it.

    x: (M, D) test points, u: (M, F) solution, grad_u: (M, D, F). For exact
    solutions the gradient is autograd of the torch expression; for computed
    references it is given by the problem (``reference_gradient``) or by finite
    differences on its grid.
    """

    def __init__(self, problem, dtype: torch.dtype = torch.float64, device: str = "cpu", chunk: int = 16384) -> None:
        self.problem, self.chunk = problem, chunk
        if problem.has_exact:
            x = torch.as_tensor(problem.test_points(), dtype=torch.float64)
            jet = autograd_jet(problem.exact, x, 1, problem.coords, problem.fields, create_graph=False)
            u, grad_u = jet.value, jet.grad
        else:
            xs, us, gs = problem.reference_test_set()
            x, u, grad_u = (torch.as_tensor(np.asarray(a), dtype=torch.float64) for a in (xs, us, gs))
        self.x = x.to(device=device, dtype=dtype)
        self.u = u.to(device=device, dtype=dtype)
        self.grad_u = grad_u.to(device=device, dtype=dtype)

    def predict(self, model, engine: str) -> tuple[Tensor, Tensor]:
        """Prediction (M, F) and its gradient (M, D, F) on the test set."""
        vals, grads = [], []
        p = self.problem
        for start in range(0, self.x.shape[0], self.chunk):
            jet = compute_jet(
                engine, model, self.x[start : start + self.chunk], 1, p.coords, p.fields, create_graph=False
            )
            vals.append(jet.value.detach())
            grads.append(jet.grad.detach())
        return torch.cat(vals), torch.cat(grads)

    def __call__(self, model, engine: str = "autograd") -> dict[str, float]:
        """mse, rel_l2, h1_mse, rel_h1 (mean over fields) and, with several fields, each per field."""
        pred, grad = self.predict(model, engine)
        per_field = error_metrics(pred, grad, self.u, self.grad_u)
        out = {m: float(v.mean()) for m, v in per_field.items()}
        if len(self.problem.fields) > 1:
            for m, v in per_field.items():
                for name, val in zip(self.problem.fields, v.tolist()):
                    out[f"{m}_{name}"] = val
        return out
