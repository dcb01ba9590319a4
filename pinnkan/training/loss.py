"""The physics-informed loss and the points it is evaluated on.

loss = alpha * mean(residual^2) + sum_c weight_c * mean(condition_c^2) [+ data_weight * data_loss].

Adaptive training changes two things in it, both kept on :class:`PINNLoss` so that
every optimizer (and Gauss–Newton's Jacobian) sees them: ``point_weights[key]``
(per-point factors w_i inside a term's mean, mean(w_i r_i^2): residual-based
attention, causal weights) and ``term_scale[key]`` (a factor on a whole term:
loss balancing), ``key`` being ``"pde"``, a condition's name or ``"data"``. The
reported ``pde_loss`` and ``<name>_loss`` stay the plain mean squares (comparable
between runs); ``loss`` is the weighted objective the optimizers minimise.

Each condition's term is reported under its name (``<name>_loss``) and summed
with the others of its kind into ``bc_loss`` or ``ic_loss``. With observations
(an inverse problem, pinnkan.observations) the data term is ``data_loss``; the
residuals then read the model's current estimates of the unknown parameters
(pinnkan.unknowns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.distributed import current
from pinnkan.jet import compute_jet
from pinnkan.problem import Problem
from pinnkan.unknowns import estimates

# the grouped terms every history has (ic_loss only with initial conditions)
LOSS_TERMS = ("loss", "pde_loss", "bc_loss", "ic_loss")


@dataclass
class Collocation:
    """Training points: interior (N, D) and, per condition, its points (n_c, D)."""

    interior: Tensor
    conditions: list[Tensor]

    @classmethod
    def sample(cls, problem: Problem, data: dict[str, Any], seed: int, dtype, device) -> Collocation:
        """Points as the ``[data]`` section says: n_interior, n_boundary, n_initial, sampling."""
        xi = problem.interior(data["n_interior"], seed, data["sampling"])
        conds = []
        for i, c in enumerate(problem.conditions):
            n = data["n_initial"] if c.kind == "ic" else data["n_boundary"]
            conds.append(torch.as_tensor(c.points(problem, n, seed + 101 * (i + 1)), dtype=dtype, device=device))
        return cls(torch.as_tensor(xi, dtype=dtype, device=device), conds)


def term_names(problem: Problem, data: bool = False) -> tuple[str, ...]:
    """Every loss term a history of this problem holds: the groups, one per condition, and data_loss."""
    return (*LOSS_TERMS, *(f"{n}_loss" for n in problem.condition_names), *(("data_loss",) if data else ()))


@dataclass
class DataTerm:
    """Observations as tensors: points x (M, D), values (M, F) (0 where unobserved), weights (M, F) (0 there),
    ``count`` observed entries and the term's weight in the loss."""

    x: Tensor
    values: Tensor
    weights: Tensor
    count: int
    weight: float = 1.0

    @classmethod
    def of(cls, obs, weight: float, dtype, device) -> DataTerm:
        as_t = lambda a: torch.as_tensor(a, dtype=dtype, device=device)  # noqa: E731
        values = np.nan_to_num(obs.values, nan=0.0)
        return cls(as_t(obs.x), as_t(values), as_t(obs.weights), obs.count, weight)

    def loss(self, pred: Tensor) -> Tensor:
        """sum w (pred - values)^2 / count, pred (M, F) at the points."""
        return (self.weights * (pred - self.values).square()).sum() / self.count


class PINNLoss:
    """The loss of ``model`` on ``problem`` at ``points`` with derivatives by ``engine`` (and ``data``)."""

    def __init__(
        self, problem: Problem, model, engine: str, points: Collocation, alpha: float, data: DataTerm | None = None
    ) -> None:
        self.problem, self.model, self.engine, self.points, self.alpha = problem, model, engine, points, alpha
        self.data = data
        self.names = problem.condition_names
        self.term_names = term_names(problem, data is not None)
        # adaptive training (see the module docstring); empty: the plain loss
        self.point_weights: dict[str, Tensor] = {}
        self.term_scale: dict[str, float] = {}
        # the residuals (detached) of the last evaluation, by term key, for callbacks that weight by them
        # (with several processes: this process's share, pinnkan.distributed)
        self.last_residuals: dict[str, Tensor] = {}
        self.comm = current()
        self._shares: tuple | None = None

    def local_points(self) -> Collocation:
        """This process's share of the points (all of them for one process; see pinnkan.distributed)."""
        if not self.comm.active:
            return self.points
        key = (id(self.points), id(self.points.interior), *(id(c) for c in self.points.conditions))
        if self._shares is None or self._shares[0] != key:
            conds = self.problem.conditions
            local = Collocation(
                self.comm.rows(self.points.interior),
                [self.comm.rows(x, c.coupled_points) for x, c in zip(self.points.conditions, conds)],
            )
            self._shares = (key, local)
        return self._shares[1]

    def local_data(self) -> DataTerm | None:
        """This process's share of the observations (their count stays the global one)."""
        d = self.data
        if d is None or not self.comm.active:
            return d
        return DataTerm(self.comm.rows(d.x), self.comm.rows(d.values), self.comm.rows(d.weights), d.count, d.weight)

    def global_groups(self, key: str, local: int) -> int:
        """The residual groups (points, or coupled pairs) of term ``key`` over every process."""
        if not self.comm.active:
            return local
        if key == "pde":
            return self.points.interior.shape[0]
        i = self.names.index(key)
        return self.points.conditions[i].shape[0] // self.problem.conditions[i].coupled_points

    @property
    def imposed(self) -> frozenset[str]:
        """Names of the conditions the surrogate imposes exactly (hard constraints, pinnkan.constraint): they are
        logged but left out of the optimised loss, which they cannot change."""
        constraint = getattr(self.model, "constraint", None)
        if constraint is None:
            return frozenset()
        return frozenset(self.names[i] for i in constraint.conditions)

    @property
    def trained_names(self) -> tuple[str, ...]:
        """The conditions in the optimised loss: every condition but the imposed ones."""
        imposed = self.imposed
        return tuple(n for n in self.names if n not in imposed)

    @property
    def term_keys(self) -> tuple[str, ...]:
        """The keys of ``point_weights`` / ``term_scale``: "pde", each trained condition's name, "data" with
        observations."""
        return ("pde", *self.trained_names, *(("data",) if self.data is not None else ()))

    def _mean(self, key: str, square: Tensor) -> Tensor:
        """The term's mean over every process's entries: this share's sum over the global count."""
        if not self.comm.active:
            return square.mean()
        per_row = square[0].numel() if square.shape[0] else max(square.numel(), 1)
        return square.sum() / (self.global_groups(key, square.shape[0]) * per_row)

    def _weighted(self, key: str, residual: Tensor) -> tuple[Tensor, Tensor]:
        """(plain mean square, weighted mean square) of one term's residual (m,) or (m, F)."""
        self.last_residuals[key] = residual.detach()
        square = residual.square()
        plain = self._mean(key, square)
        w = self.point_weights.get(key)
        if w is None:
            return plain, plain
        if w.shape[0] != square.shape[0]:
            raise RuntimeError(f"point weights of {key!r} have {w.shape[0]} entries for {square.shape[0]} residuals")
        return plain, self._mean(key, w.reshape(-1, *([1] * (square.dim() - 1))) * square)

    def terms(self) -> dict[str, Tensor]:
        """Scalars: loss, pde_loss, bc_loss / ic_loss (where present), <name>_loss per condition, data_loss."""
        p, m, e = self.problem, self.model, self.engine
        points = self.local_points()
        x = points.interior
        with estimates(p, m):
            jet = compute_jet(e, m, x, p.jet_layout(), p.coords, p.fields)
            pde, weighted = self._weighted("pde", p.residual(x, jet))
            terms = {"pde_loss": pde}
            total = self.alpha * self.term_scale.get("pde", 1.0) * weighted
            imposed = self.imposed
            for i, (name, cond, xc) in enumerate(zip(self.names, p.conditions, points.conditions)):
                if xc.shape[0] == 0:  # a share with none of this condition's points (a gauge on another process)
                    term = x.new_zeros(())
                    group = f"{cond.kind}_loss"
                    terms[group] = terms[group] + term if group in terms else term
                    terms[f"{name}_loss"] = term
                    continue
                jc = compute_jet(e, m, xc, p.condition_layout(i), p.coords, p.fields)
                residual = cond.residual(p, xc, jc)
                if name in imposed:  # holds by construction: reported, not trained
                    term = cond.weight * self._mean(name, residual.detach().square())
                else:
                    plain, weighted = self._weighted(name, residual)
                    term = cond.weight * plain
                    total = total + cond.weight * self.term_scale.get(name, 1.0) * weighted
                group = f"{cond.kind}_loss"
                terms[group] = terms[group] + term if group in terms else term
                terms[f"{name}_loss"] = term
        data = self.local_data()
        if data is not None:
            terms["data_loss"] = data.loss(m(data.x))
            total = total + data.weight * self.term_scale.get("data", 1.0) * terms["data_loss"]
        terms["loss"] = total
        if self.comm.active:
            terms = self._summed(terms)
        return terms

    def _summed(self, terms: dict[str, Tensor]) -> dict[str, Tensor]:
        """Each term's value summed over the processes; its gradient stays this process's share (the phases
        sum the gradients: pinnkan.distributed.Comm.sum_grads_)."""
        keys = list(terms)
        local = torch.stack([terms[k].detach().reshape(()) for k in keys])
        total = self.comm.sum_(local.clone().to(self.comm.device)).to(local)
        return {k: terms[k] + (total[i] - local[i]) for i, k in enumerate(keys)}
