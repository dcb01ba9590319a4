"""The checks a problem passes before any training: its residual and every condition are recorded and
evaluated once on a few points with the untrained surrogate, the equations counted against the fields, and
the techniques a data-parallel run cannot do refused, each fault in one line (:class:`pinnkan.UserError`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.errors import UserError
from pinnkan.jet import JetError, compute_jet
from pinnkan.problem import Problem
from pinnkan.unknowns import estimates


def _check_rows(problem: Problem, what: str, value: Any, n: int) -> None:
    """A residual must be a tensor with one finite row per point: (n,) or (n, E)."""
    if not isinstance(value, Tensor):
        raise UserError(f"problem {problem.name!r}: {what} returned {type(value).__name__}, not a torch tensor")
    if value.dim() not in (1, 2) or value.shape[0] != n:
        raise UserError(
            f"problem {problem.name!r}: {what} must give one value (or row) per point, shape ({n},) or ({n}, E); "
            f"got {tuple(value.shape)}"
        )
    bad = int((~torch.isfinite(value.detach())).reshape(n, -1).any(1).sum())
    if bad:
        raise UserError(f"problem {problem.name!r}: {what} is not finite at {bad} of {n} check points")


def _recorded(problem: Problem, what: str, find):
    """``find()`` (a recording of the problem's residual or of a condition), the user's code failing in one
    line that says which."""
    try:
        return find()
    except JetError as exc:
        raise UserError(f"problem {problem.name!r}: {what}: {exc}") from None
    except Exception as exc:  # the user's code: say what failed, in one line
        raise UserError(f"problem {problem.name!r}: {what} failed: {type(exc).__name__}: {exc}") from None


def record_all(problem: Problem) -> None:
    """Record the residual and every condition once (the planner reads their orders), refusing in one line."""
    _recorded(problem, "residual", problem.jet_layout)
    for i, name in enumerate(problem.condition_names):
        _recorded(problem, f"condition {name!r}", lambda i=i: problem.condition_layout(i))


def check_problem(problem: Problem, model: torch.nn.Module, engine: str, n: int = 16, observed: bool = False) -> None:
    """Evaluate the residual and every condition once on a few points with the untrained surrogate, so that
    a problem asking its jet for something it does not hold, returning the wrong shape or non-finite
    values (a forcing or boundary value with a pole, say) fails here, in one line, before any training."""
    param = next(model.parameters())

    def layout_of(what: str, find):
        return _recorded(problem, what, find)

    def evaluate(what: str, x: np.ndarray, layout, fn, coupled: int = 1) -> None:
        x = np.asarray(x, dtype=float)
        if x.ndim != 2 or x.shape[1] != problem.dim or not np.isfinite(x).all():
            raise UserError(f"problem {problem.name!r}: {what}: points must be finite, shape (n, {problem.dim})")
        xt = torch.as_tensor(x, dtype=param.dtype, device=param.device)
        try:
            model.check_layout(layout)
        except ValueError as exc:
            raise UserError(f"problem {problem.name!r}: {what}: {exc}") from None
        try:
            jet = compute_jet(engine, model, xt, layout, problem.coords, problem.fields, False)
            with estimates(problem, model):
                value = fn(xt, jet)
        except JetError as exc:
            raise UserError(f"problem {problem.name!r}: {what}: {exc}") from None
        except Exception as exc:  # the user's code: say what failed, in one line
            raise UserError(f"problem {problem.name!r}: {what} failed: {type(exc).__name__}: {exc}") from None
        # a condition coupling g points per entry (periodic: g = 2) gives n / g entries
        _check_rows(problem, what, value, x.shape[0] // coupled)

    evaluate("residual", problem.interior(n, seed=0), layout_of("residual", problem.jet_layout), problem.residual)
    for i, (name, cond) in enumerate(zip(problem.condition_names, problem.conditions)):
        try:
            pts = cond.points(problem, n, seed=0)
        except Exception as exc:
            raise UserError(f"problem {problem.name!r}: condition {name!r}: points failed: {exc}") from None
        evaluate(
            f"condition {name!r}",
            pts,
            layout_of(f"condition {name!r}", lambda i=i: problem.condition_layout(i)),
            lambda x, jet, c=cond: c.residual(problem, x, jet),
            cond.coupled_points,
        )
    check_equations(problem, model, engine, observed)


def residual_columns(problem: Problem, model: torch.nn.Module, engine: str) -> int:
    """E, the number of equations the residual returns (columns; 1 for an (N,) residual)."""
    param = next(model.parameters())
    x = torch.as_tensor(problem.interior(4, seed=0), dtype=param.dtype, device=param.device)
    jet = compute_jet(engine, model, x, problem.jet_layout(), problem.coords, problem.fields, False)
    with estimates(problem, model):
        r = problem.residual(x, jet)
    return 1 if r.dim() == 1 else int(r.shape[1])


# a PointSet of fewer points is a gauge (p(0, 0) = 0), not data that could stand in for an equation
DATA_POINTS = 10


def check_equations(problem: Problem, model: torch.nn.Module, engine: str, observed: bool = False) -> None:
    """Fewer equations than fields leave a field free: refused (one line) unless data pins the others down
    (observations, or a PointSet of at least DATA_POINTS points: an inverse problem's coefficient field)."""
    from pinnkan.conditions import PointSet

    e, f = residual_columns(problem, model, engine), len(problem.fields)
    sets = [c for c in problem.conditions if isinstance(c, PointSet)]
    data = observed or problem.has_observations or any(len(c.points(problem, 1, 0)) >= DATA_POINTS for c in sets)
    if e < f and not data:
        raise UserError(
            f"problem {problem.name!r}: the residual gives {e} column{'s' * (e != 1)} for {f} fields "
            f"({', '.join(problem.fields)}); return one column per equation, at least {f} "
            f"(torch.stack([eq1, eq2, ...], dim=1))"
        )


def check_distributed(cfg: dict[str, dict[str, Any]]) -> None:
    """Refuse (ValueError, one line) the techniques a data-parallel run cannot do yet (those that do not
    reduce what they read over the processes: ``Technique.distributed``)."""
    from pinnkan.distributed import current
    from pinnkan.training import TECHNIQUES

    comm = current()
    if not comm.active:
        return
    for name, cls in TECHNIQUES.items():
        if not cls.distributed and cls.from_config(cfg) is not None:
            raise ValueError(
                f"train.{next(iter(cls.switch), name)}: the {name!r} technique runs on one process only; "
                f"switch it off to train on {comm.size} processes"
            )
