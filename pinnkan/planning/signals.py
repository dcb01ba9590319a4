"""What a problem's declaration says, read once, for the planning rules.

Nothing here looks at a problem's name: every signal is read from the
coordinates, the domain, the residual (by its recorded partials and by
evaluating it at chosen jets), the conditions and their data, the observations
and the budget.

Scales. A residual is a sum of terms (a forcing, a diffusion, a transport...).
Evaluated at a *probe jet* whose value is the data scale U and whose partials
are U / l_a^k (l_a the length over which the solution changes along axis a), each
term's size follows from zeroing one partial at a time: term_k = r(J) - r(J
with partial k zeroed); the forcing is r at the zero jet. ``pde_scale`` is the
largest of these: the size of the residual's largest term, against which a
residual is small or not.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.conditions import Dirichlet, Initial, PointSet, evaluate_value
from pinnkan.distributed import current
from pinnkan.domains import Box, SpaceTime
from pinnkan.jet import Jet
from pinnkan.layout import LAP, Layout

# points the signals are read at
PROBE_POINTS = 256
# data smaller than this is zero (rounding of sin(k pi) at a boundary, say): it sets no scale
TINY = 1e-10
MAX_HALF_WAVES = 1000.0


@dataclass
class Signals:
    """The facts a plan is made from (each rule reads some of them)."""

    dim: int
    coords: tuple[str, ...]
    time: str | None
    extents: tuple[float, ...]  # the bounding box's side along each coordinate
    time_ratio: float  # time extent over the longest spatial extent (0 without time)
    orders: dict[str, int]  # the highest derivative order the residual takes along each coordinate
    max_order: int
    mixed: bool  # the residual reads a mixed partial
    fields: int
    equations: int
    linear: bool  # the residual is affine in the jet
    periodic: tuple[str, ...]  # coordinates with a periodic condition
    domain: str  # "box", "box x time" or "other"
    fill: float  # the fraction of the bounding box inside the domain
    forcing_scale: float  # rms of the residual at the zero jet
    data_scale: float  # rms of the Dirichlet, initial and point data (0: none given)
    pde_scale: float  # rms size of the residual's largest term at the probe jet
    half_waves: dict[str, float] = field(default_factory=dict)  # half-waves of the data along each coordinate
    conditions: int = 0
    soft_conditions: tuple[str, ...] = ()  # conditions that cannot be imposed exactly
    hard_bc: bool = False  # model.hard_bc can impose the Dirichlet and initial data
    hard_bc_reason: str = ""
    observations: int = 0  # observed values (observations and point sets)
    unknowns: int = 0
    budget: float = 0.0
    processes: int = 1  # a data-parallel run's processes (pinnkan.distributed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _keys(layout: Layout) -> list:
    return [k for k in layout.keys]


def _orders(problem) -> tuple[dict[str, int], int, bool]:
    layout = problem.jet_layout()
    orders = {c: 0 for c in problem.coords}
    mixed = False
    for key in _keys(layout):
        if key == LAP:
            for c in problem.coords:
                orders[c] = max(orders[c], 2)
            continue
        for a in set(key):
            orders[problem.coords[a]] = max(orders[problem.coords[a]], key.count(a))
        mixed |= len(set(key)) > 1
    return orders, max(orders.values(), default=0), mixed


def _residual_at(problem, x: Tensor, rows: Tensor, layout: Layout) -> Tensor:
    from pinnkan.unknowns import estimates

    jet = Jet(rows, layout, problem.coords, problem.fields)
    with torch.no_grad(), estimates(problem, None):
        r = problem.residual(x, jet)
    return r.reshape(len(x), -1)


def _probe_rows(problem, layout: Layout, scale: float, lengths: np.ndarray, seed: int) -> Tensor:
    """(N, S, F) jet rows of a smooth function of size ``scale`` varying over ``lengths``: random signs, the
    k-th partials scale / l^k."""
    gen = torch.Generator().manual_seed(seed)
    n, f = PROBE_POINTS, len(problem.fields)
    rows = [scale * (0.5 + torch.rand(n, f, generator=gen, dtype=torch.float64))]
    for key in layout.keys:
        if key == LAP:
            size = sum(scale / lengths[a] ** 2 for a in range(problem.dim))
        else:
            size = scale / float(np.prod([lengths[a] for a in key]))
        sign = torch.randint(0, 2, (n, f), generator=gen).to(torch.float64) * 2 - 1
        rows.append(size * sign * (0.5 + torch.rand(n, f, generator=gen, dtype=torch.float64)))
    return torch.stack(rows, dim=1)


def _rms(t: Tensor) -> float:
    t = t[torch.isfinite(t)]
    return float(t.square().mean().sqrt()) if t.numel() else 0.0


def _condition_data(problem) -> tuple[float, dict[str, float]]:
    """rms of the data of the conditions that set values (Dirichlet, Initial, PointSet), and the half-waves
    of that data along each coordinate (|d g / d x_a| / |g| times l_a / pi)."""
    values, waves = [], {c: 0.0 for c in problem.coords}
    lo, hi = problem.domain.bounds()
    for cond in problem.conditions:
        if not isinstance(cond, Dirichlet | Initial | PointSet):
            continue
        if cond.value is None and not problem.has_exact:
            continue
        try:
            pts = np.asarray(cond.points(problem, PROBE_POINTS, seed=1), dtype=float)
            x = torch.as_tensor(pts, dtype=torch.float64).requires_grad_(True)
            cols = cond.columns(problem)
            k = len(cols) if cols is not None else len(problem.fields)
            with torch.enable_grad():
                v = evaluate_value(cond.value, problem, x, x.new_zeros(len(pts), k), cols)
                values.append(v.detach().reshape(-1))
                if v.requires_grad and _rms(v.detach()) > TINY:
                    (g,) = torch.autograd.grad(v.sum(), x, allow_unused=True)
                    if g is not None:
                        for a, c in enumerate(problem.coords):
                            ratio = _rms(g[:, a]) / _rms(v.detach()) * (hi[a] - lo[a]) / math.pi
                            waves[c] = max(waves[c], min(float(ratio), MAX_HALF_WAVES))
        except Exception:  # a condition the check will refuse with its own message
            continue
    data = torch.cat(values) if values else torch.zeros(0, dtype=torch.float64)
    scale = _rms(data)
    return (scale if scale > TINY else 0.0), waves


def _is_linear(problem, x: Tensor, layout: Layout, scale: float, lengths: np.ndarray) -> bool:
    """r(2J) - r(0) = 2 (r(J) - r(0)) at two random jets, to rounding."""
    zero = _residual_at(problem, x, torch.zeros(len(x), layout.size, len(problem.fields), dtype=x.dtype), layout)
    for seed in (3, 4):
        rows = _probe_rows(problem, layout, scale, lengths, seed)
        one = _residual_at(problem, x, rows, layout) - zero
        two = _residual_at(problem, x, 2 * rows, layout) - zero
        if float((two - 2 * one).abs().max()) > 1e-9 * max(float(two.abs().max()), 1e-300):
            return False
    return True


def _pde_scale(problem, x: Tensor, layout: Layout, scale: float, lengths: np.ndarray) -> tuple[float, float]:
    """(rms of the forcing r(0), rms size of the largest term at the probe jet)."""
    f = len(problem.fields)
    zero = _residual_at(problem, x, torch.zeros(len(x), layout.size, f, dtype=x.dtype), layout)
    rows = _probe_rows(problem, layout, scale, lengths, 5)
    full = _residual_at(problem, x, rows, layout)
    sizes = [_rms(zero)]
    for s in range(layout.size):
        cut = rows.clone()
        cut[:, s] = 0.0
        sizes.append(_rms(full - _residual_at(problem, x, cut, layout)))
    return sizes[0], max(sizes)


def _domain_kind(problem) -> str:
    d = problem.domain
    if isinstance(d, Box):
        return "box"
    if isinstance(d, SpaceTime) and isinstance(d.space, Box):
        return "box x time"
    return "other"


def _hard_bc(problem) -> tuple[bool, str, tuple[str, ...]]:
    """Whether model.hard_bc can impose data, why not, and the conditions left soft."""
    from pinnkan.constraint import HardDirichlet

    if problem.enrichment:
        return False, "the problem adds singular functions", problem.condition_names
    try:
        hard = HardDirichlet(problem)
    except Exception as exc:  # ValueError from the constraint, or the user's value function failing
        return False, str(exc).split(": ", 1)[-1], problem.condition_names
    soft = tuple(n for i, n in enumerate(problem.condition_names) if i not in hard.conditions)
    return True, "", soft


def read_signals(problem, budget: float = 0.0, observations: int = 0) -> Signals:
    """The :class:`Signals` of a problem (``budget``: seconds of training; ``observations``: values from a
    --data file)."""
    lo, hi = problem.domain.bounds()
    extents = tuple(float(b - a) for a, b in zip(lo, hi))
    space = [e for c, e in zip(problem.coords, extents) if c != problem.time]
    t_ext = extents[problem.coords.index(problem.time)] if problem.time in problem.coords else 0.0
    orders, max_order, mixed = _orders(problem)
    layout = problem.jet_layout()
    data_scale, waves = _condition_data(problem)
    x = torch.as_tensor(problem.interior(PROBE_POINTS, seed=11), dtype=torch.float64)
    scale = data_scale if data_scale > 0 else 1.0
    # the length over which the solution changes: half a wave of its data along each axis, at least half a
    # half-wave across the domain
    lengths = np.array(
        [e / (math.pi * max(0.5, waves.get(c, 0.0))) for c, e in zip(problem.coords, extents)], dtype=float
    )
    try:
        forcing, pde_scale = _pde_scale(problem, x, layout, scale, lengths)
        linear = _is_linear(problem, x, layout, scale, lengths)
        zero_rows = torch.zeros(len(x), layout.size, len(problem.fields), dtype=torch.float64)
        equations = _residual_at(problem, x, zero_rows, layout).shape[1]
    except Exception:  # a residual the checks before training refuse with their own message
        forcing, pde_scale, linear, equations = 0.0, 0.0, False, len(problem.fields)
    hard, why, soft = _hard_bc(problem)
    if not hard:
        soft = problem.condition_names
    periodic = tuple(c.coord for c in problem.conditions if type(c).__name__ == "Periodic")
    points = 0
    for c in problem.conditions:
        if isinstance(c, PointSet):
            try:
                points += len(c.points(problem, 1, 0))
            except Exception:  # refused with its own message by the checks before training
                pass
    return Signals(
        dim=problem.dim,
        coords=tuple(problem.coords),
        time=problem.time,
        extents=extents,
        time_ratio=t_ext / max(space) if space and t_ext else 0.0,
        orders=orders,
        max_order=max_order,
        mixed=mixed,
        fields=len(problem.fields),
        equations=int(equations),
        linear=linear,
        periodic=periodic,
        domain=_domain_kind(problem),
        fill=float(problem.domain.measure() / float(np.prod(hi - lo))),
        forcing_scale=forcing,
        data_scale=data_scale,
        pde_scale=pde_scale,
        half_waves={c: round(w, 3) for c, w in waves.items()},
        conditions=len(problem.conditions),
        soft_conditions=tuple(soft),
        hard_bc=hard,
        hard_bc_reason=why,
        observations=int(observations + points),
        unknowns=len(getattr(problem, "unknown_specs", {}) or {}),
        budget=float(budget),
        processes=current().size,
    )
