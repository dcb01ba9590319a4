"""Causal weighting of the PDE residual in time (Wang, Sankaran & Perdikaris 2022).

A time-dependent PINN trained on all times at once can fit later times before
the solution there is determined by earlier ones, and settle on a wrong one
(Allen–Cahn, chaotic or sharp problems). Causal training splits the time range
into ``train.causal_chunks`` = 32 equal slices, with L_k the mean squared PDE
residual of the points in slice k, and weights slice i by

    w_i = exp(-eps * sum_{k < i} L_k),         eps = ``train.causal``,

so a slice only counts once the slices before it are resolved: w_0 = 1 always
and every w_i -> 1 as the residual falls. The weights are recomputed (not
trained, no gradient) after every step from the residuals of the last
evaluation, and enter the loss as per-point weights (pinnkan.training.loss).
They are not normalised: while late slices are still held back the loss is
smaller than the plain one. ``train.causal = 0`` (the default) is off; the paper
raises eps over a schedule, here it is fixed: choose it so that eps times the
initial residual's sum over slices is a few units (``min_weight`` on the
callback says how far causality has reached). An untrained network's residual,
far larger than eps was chosen for, weighs the late slices to almost nothing at
first: training then works on the early times alone until their residual falls,
which is the point (a cap on the exponent, which kept the late slices in from
the start, lost the development set's multi-scale heat problem: CHANGELOG.md
has the figures and their commands). A problem with no time coordinate is
refused.
"""

from __future__ import annotations

from typing import Any

import torch

from pinnkan.keys import Key, positive
from pinnkan.training.state import TrainState
from pinnkan.training.technique import Technique


def _non_negative(value: float) -> str | None:
    return None if value >= 0 else "must be >= 0 (0: off)"


def slice_index(t: torch.Tensor, t0: float, t1: float, chunks: int) -> torch.Tensor:
    """The time slice (N,) of each time t (N,) in [t0, t1], of ``chunks`` equal slices."""
    return ((t - t0) / (t1 - t0) * chunks).floor().clamp(0, chunks - 1).long()


def causal_weights(t: torch.Tensor, sq: torch.Tensor, t0: float, t1: float, chunks: int, eps: float, comm=None):
    """Per-point weights (N,) and per-slice weights (chunks,) from times t (N,) and squared residuals sq (N,);
    with ``comm`` (pinnkan.distributed) the slices' sums and counts are over every process's points."""
    idx = slice_index(t, t0, t1, chunks)
    total = torch.zeros(chunks, dtype=sq.dtype, device=sq.device).index_add_(0, idx, sq)
    count = torch.zeros(chunks, dtype=sq.dtype, device=sq.device).index_add_(0, idx, torch.ones_like(sq))
    if comm is not None and comm.active:
        both = comm.sum_(torch.cat([total, count]).to(comm.device)).to(total)
        total, count = both[:chunks], both[chunks:]
    mean = total / count.clamp_min(1.0)
    before = torch.cat([mean.new_zeros(1), mean.cumsum(0)[:-1]])
    w = torch.exp(-eps * before)
    return w[idx], w


class CausalWeights(Technique):
    """Causal per-point weights on the PDE residual (see the module docstring)."""

    name = "causal"
    switch = {"causal": 1.0}
    distributed = True
    config_keys = {
        "causal": Key(
            "float",
            None,
            check=_non_negative,
            help="causal weighting in time: eps of w_i = exp(-eps * residual of earlier time slices) (0: off; "
            "default: the plan's for a time-dependent problem, else 0)",
        ),
        "causal_chunks": Key("int", 32, check=positive, help="time slices of causal weighting"),
    }

    def __init__(self, eps: float, chunks: int = 32) -> None:
        self.eps, self.chunks = eps, chunks
        self.slice_weights: torch.Tensor | None = None  # (chunks,): the weights in force, kept in checkpoints

    @property
    def min_weight(self) -> float:
        """The last slice's weight: how far causality has reached (1 before the first update)."""
        return 1.0 if self.slice_weights is None else float(self.slice_weights.min())

    @classmethod
    def from_config(cls, cfg: dict[str, dict[str, Any]]) -> CausalWeights | None:
        t = cfg["train"]
        return cls(t["causal"], t["causal_chunks"]) if (t.get("causal") or 0.0) > 0 else None

    @classmethod
    def check(cls, problem, cfg: dict[str, dict[str, Any]]) -> None:
        t = cfg["train"]
        if (t.get("causal") or 0.0) <= 0:
            return
        if problem.time is None:
            raise ValueError(
                f"train.causal: problem {problem.name!r} has no time coordinate (coords {problem.coords}); "
                "causal weighting orders the residual in time"
            )
        if t.get("rba"):  # both set the PDE points' weights: one would silently replace the other
            raise ValueError("train.causal and train.rba both weight the PDE points; switch one of them off")

    def _time_axis(self, state: TrainState) -> tuple[torch.Tensor, int, float, float]:
        """This process's interior points (N, D), the time axis and its range."""
        p = state.problem
        axis = p.coords.index(p.time)
        lo, hi = p.domain.bounds()
        return state.loss.local_points().interior, axis, float(lo[axis]), float(hi[axis])

    def _update(self, state: TrainState) -> None:
        loss = state.loss
        r = loss.last_residuals.get("pde")
        x, axis, t0, t1 = self._time_axis(state)  # the residuals are this process's share
        stale = r is None or r.shape[0] != x.shape[0]
        if loss.comm.active:  # terms() is collective: every process evaluates it, or none
            stale = bool(loss.comm.max_(torch.tensor([float(stale)], device=loss.comm.device))[0])
        if stale:
            with torch.no_grad():
                loss.terms()
            r = loss.last_residuals["pde"]
        sq = r.reshape(r.shape[0], -1).square().sum(1)
        per_point, per_slice = causal_weights(x[:, axis], sq, t0, t1, self.chunks, self.eps, loss.comm)
        loss.point_weights["pde"] = per_point
        self.slice_weights = per_slice.detach()

    def on_train_start(self, state: TrainState) -> None:
        self._update(state)

    def on_stage_start(self, state: TrainState) -> None:
        self._update(state)

    def on_step_end(self, state: TrainState) -> None:
        self._update(state)

    def on_resume(self, state: TrainState) -> None:
        """The weights in force when the checkpoint was taken (not new ones from the restored parameters, which
        would make the resumed steps differ from the uninterrupted run's), on this process's points: slices are
        global, so a run resumed on another number of processes gets them too."""
        if self.slice_weights is None:
            self._update(state)
            return
        x, axis, t0, t1 = self._time_axis(state)
        idx = slice_index(x[:, axis], t0, t1, self.chunks)
        w = self.slice_weights.to(dtype=x.dtype, device=x.device)
        state.loss.point_weights["pde"] = w[idx]

    def state_dict(self) -> dict:
        return {} if self.slice_weights is None else {"slice_weights": self.slice_weights.cpu()}

    def load_state_dict(self, state: dict) -> None:
        self.slice_weights = state.get("slice_weights")

    def on_train_end(self, state: TrainState) -> None:
        state.loss.point_weights.pop("pde", None)
