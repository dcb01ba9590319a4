"""Time windows: a time-dependent problem cut into consecutive intervals, each a problem of its own.

Time-marching trains the windows in order (:mod:`pinnkan.marching`). Window k
is the problem on ``[t_k, t_k+1]``: the same residual and conditions on the
narrowed domain, except that for k > 0 the conditions on the start face take
the previous window's solution as their data. An initial value becomes an
Initial condition whose value is the previous window's fields
(:class:`PreviousWindow`), so hard constraints impose it exactly as they
impose the first window's (penalised, a zero solution could satisfy the PDE
and the walls and only a loss term would pull away from it). Any other
start-face condition (an initial rate) becomes :class:`Continued`: written as
an operator minus a target, ``B u - g``, it asks

    r(x) = (B u_new - g)(x) - (B u_prev - g)(x)    at x on {t = t_k},

so the original target g cancels; the previous window's side is computed
once, at fixed points, and looked up by point (it is data, not a parameter).

Windows exist for boxes whose coordinates include time and for
``SpaceTime`` domains; anything else is refused in one line.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.conditions import Condition, Dirichlet, Initial, PointSet, nearest_rows
from pinnkan.domains import Box, SpaceTime
from pinnkan.jet import Jet

# cached per-problem entries (layouts) that a narrowed copy must record again
_CACHED = ("_jet_layout", "_condition_layouts")


def time_axis(problem: Any) -> int:
    """The index of the problem's time coordinate; a ValueError (one line) when it has none."""
    if problem.time is None:
        raise ValueError(f"train.windows > 1 needs a time-dependent problem; {problem.name!r} has no time coordinate")
    return problem.coords.index(problem.time)


def window_edges(problem: Any, windows: int) -> list[float]:
    """``windows + 1`` equally spaced times from the start to the end of the problem's interval."""
    axis = time_axis(problem)
    lo, hi = problem.domain.bounds()
    return [float(v) for v in np.linspace(lo[axis], hi[axis], windows + 1)]


def narrowed(problem: Any, t0: float, t1: float) -> Any:
    """The problem's domain with its time interval replaced by [t0, t1]."""
    domain, axis = problem.domain, time_axis(problem)
    if isinstance(domain, SpaceTime):
        return replace(domain, interval=(float(t0), float(t1)))
    if isinstance(domain, Box):
        lo, hi = list(domain.lo), list(domain.hi)
        lo[axis], hi[axis] = float(t0), float(t1)
        return replace(domain, lo=tuple(lo), hi=tuple(hi))
    raise ValueError(
        f"train.windows > 1 needs a box or a SpaceTime domain; problem {problem.name!r} is on a {type(domain).__name__}"
    )


def on_start_face(problem: Any, cond: Condition) -> bool:
    """Whether the condition holds on the start face only (an initial value or rate); a ValueError for one that
    mixes the start face with other parts, or names the end face, which a window cannot place."""
    start, end = f"{problem.time}-", f"{problem.time}+"
    faces = tuple(getattr(cond, "faces", ()) or ())
    if isinstance(cond, Initial) and not faces:
        return True
    if end in faces:
        raise ValueError(f"train.windows > 1: a condition on the end face {end!r} cannot be split into windows")
    if start in faces and len(faces) > 1:
        raise ValueError(f"train.windows > 1: give the start face {start!r} a condition of its own (faces {faces})")
    return start in faces


def refuse(problem: Any) -> None:
    """A ValueError (one line) where the problem cannot be trained in time windows."""
    axis = time_axis(problem)
    lo, hi = problem.domain.bounds()
    narrowed(problem, lo[axis], hi[axis])
    if problem.unknown_specs or problem.has_observations:
        raise ValueError("train.windows > 1 cannot learn unknown parameters (one value for every window)")
    for cond in problem.conditions:
        if isinstance(cond, PointSet):
            raise ValueError("train.windows > 1 does not take point-set conditions yet")
        on_start_face(problem, cond)


class Continued(Condition):
    """``original``'s operator equal to the previous window's at the window's start (module docstring).

    ``at`` (m, D): the fixed points on the start face; ``table`` (m, k): the original residual of the
    previous window's solution there. Its points are always ``at``, whatever number is asked for.
    """

    def __init__(self, original: Condition, at: np.ndarray, table: np.ndarray) -> None:
        self.original, self.at, self.table = original, at, table
        self.kind, self.weight, self.name = original.kind, original.weight, original.name

    def default_name(self) -> str:
        return self.original.default_name()

    def points(self, problem: Any, n: int, seed: int) -> np.ndarray:
        return self.at

    def residual(self, problem: Any, x: Tensor, jet: Jet) -> Tensor:
        own = self.original.residual(problem, x, jet).reshape(x.shape[0], -1)
        return own - nearest_rows(x, self.at, self.table, own.dtype)


class PreviousWindow:
    """The previous window's fields as a condition's value, ``value(problem, x) -> (n, k)``: the start data of
    a later window as a plain Initial condition, which hard constraints can impose exactly. The model runs its
    reference PyTorch ops (its fused kernels switched off for good): the constraint differentiates the value
    in forward mode, and Gauss-Newton's Jacobian evaluates it point by point under ``torch.func``."""

    def __init__(self, model: Any, columns: list[int] | None) -> None:
        for m in model.modules():
            if getattr(m, "fused", None) is True:
                m.fused = False
        self.model, self.columns = model, columns

    def __call__(self, problem: Any, x: Tensor) -> Tensor:
        # its parameters as constants: hard constraints keep the data's rows across steps, and a graph to the
        # previous window's parameters in them would be freed by the first backward pass
        fixed = {k: v.detach() for k, v in self.model.named_parameters()}
        y = torch.func.functional_call(self.model, fixed, (x,))
        return y if self.columns is None else y[:, self.columns]


def window_problem(problem: Any, t0: float, t1: float, previous: Any = None, n: int = 0, seed: int = 0) -> Any:
    """The problem on [t0, t1]: a copy with the narrowed domain.

    For a window after the first, ``previous`` is the surrogate of the window before: each value condition on
    the start face (Dirichlet or Initial on the whole face) becomes an Initial condition whose value is
    ``previous``'s fields (:class:`PreviousWindow`); every other start-face condition (an initial rate)
    becomes :class:`Continued`, matched at ``n`` points (seed ``seed``) to ``previous``'s jet, or is left out
    for ``n = 0`` (what rebuilding a trained window's hard constraints needs).
    """
    from pinnkan.jet import compute_jet

    out = copy.copy(problem)
    for key in _CACHED:
        out.__dict__.pop(key, None)
    first = t0 <= float(problem.domain.bounds()[0][time_axis(problem)])
    out.domain = narrowed(problem, t0, t1)
    if first:
        return out
    if previous is None:
        raise ValueError("a time window after the first needs the previous window's surrogate")
    kept: list[Condition] = []
    for i, cond in enumerate(problem.conditions):
        name = problem.condition_names[i]  # the window logs it under the original's name
        if not on_start_face(problem, cond):
            kept.append(cond)
        elif type(cond) in (Dirichlet, Initial) and cond.where is None:
            value = PreviousWindow(previous, cond.columns(problem))
            kept.append(Initial(value=value, fields=cond.fields, weight=cond.weight, name=name))
        elif n > 0:
            named = copy.copy(cond)
            named.name = name
            out.conditions = (named,)
            out.__dict__.pop("_condition_layouts", None)
            at = np.asarray(named.points(out, n, seed), dtype=float)
            param = next(previous.parameters())
            x = torch.as_tensor(at, dtype=param.dtype, device=param.device)
            jet = compute_jet("autograd", previous, x, out.condition_layout(0), problem.coords, problem.fields, False)
            with torch.no_grad():
                table = named.residual(out, x, jet).reshape(len(at), -1).detach().cpu().numpy()
            kept.append(Continued(named, at, table))
    out.conditions = tuple(kept)
    out.__dict__.pop("_condition_layouts", None)
    return out
