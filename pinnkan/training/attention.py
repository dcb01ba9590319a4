"""Residual-based attention (RBA, Anagnostopoulos et al. 2024): a weight per collocation point.

Each term's points (the interior, each condition's) carry a multiplier lambda_i,
updated after every optimizer step from the residuals of the last evaluation,

    lambda_i <- gamma * lambda_i + eta * |r_i| / max_j |r_j|,        lambda_i = 0 at the start,

and the term becomes mean(w_i r_i^2) with w_i = lambda_i^2 / mean_j lambda_j^2
(``train.rba = true``; gamma is ``train.rba_decay`` = 0.999, eta ``train.rba_rate``
= 0.01). The normalisation to mean 1 within each term is this library's choice:
the term's own weight (alpha, a condition's weight) keeps its meaning and the
loss keeps its scale, so the divergence and stall rules read it as before; it
also makes eta matter only against the start value. Points whose residual stays large gain weight; the
weights are an exponential memory of where the residual has been large, so they
change slowly and Gauss–Newton's local model stays valid from step to step. The
multipliers are not trained: they follow the residual. They start over when the
points change (a resampling) and go into checkpoints.

lambda starts at eta everywhere (w = 1: the first steps train the plain loss). A
smaller gamma (0.9) adapts within the tens of steps a Levenberg–Marquardt phase
takes; 0.999 suits thousands of Adam steps.
"""

from __future__ import annotations

from typing import Any

import torch

from pinnkan.keys import Key, positive
from pinnkan.training.state import TrainState
from pinnkan.training.technique import Technique


def _fraction(value: float) -> str | None:
    return None if 0.0 < value < 1.0 else "must be in (0, 1)"


class ResidualAttention(Technique):
    """Per-point attention weights of residual-based attention (see the module docstring)."""

    name = "rba"
    distributed = True
    switch = {"rba": True}
    config_keys = {
        "rba": Key("bool", False, help="residual-based attention: a weight per point that grows with |residual|"),
        "rba_decay": Key("float", 0.999, check=_fraction, help="RBA memory gamma"),
        "rba_rate": Key("float", 0.01, check=positive, help="RBA step eta (weights stay below eta/(1-gamma))"),
    }

    def __init__(self, decay: float = 0.999, rate: float = 0.01) -> None:
        self.decay, self.rate = decay, rate
        self.lam: dict[str, torch.Tensor] = {}

    @classmethod
    def from_config(cls, cfg: dict[str, dict[str, Any]]) -> ResidualAttention | None:
        t = cfg["train"]
        return cls(t["rba_decay"], t["rba_rate"]) if t.get("rba") else None

    def _sync(self, state: TrainState) -> None:
        """Weights sized to the current points (fresh ones where the points changed), put into the loss."""
        loss = state.loss
        sizes = {"pde": loss.points.interior.shape[0]}
        trained = loss.trained_names
        for name, cond, xc in zip(loss.names, state.problem.conditions, loss.points.conditions):
            if name in trained:
                sizes[name] = xc.shape[0] // cond.coupled_points
        like = loss.points.interior
        for key, n in sizes.items():
            lam = self.lam.get(key)
            if lam is None or lam.shape[0] != n:
                self.lam[key] = torch.full((n,), self.rate, dtype=like.dtype, device=like.device)
            else:
                self.lam[key] = lam.to(dtype=like.dtype, device=like.device)
            loss.point_weights[key] = self._share(loss, self._normalised(self.lam[key]))

    @staticmethod
    def _share(loss, w: torch.Tensor) -> torch.Tensor:
        """This process's rows of a whole weight vector (all of it for one process: pinnkan.distributed)."""
        return w[loss.comm.share(w.shape[0])] if loss.comm.active else w

    @staticmethod
    def _normalised(lam: torch.Tensor) -> torch.Tensor:
        w = lam.square()
        return w / w.mean().clamp_min(1e-300)

    def on_train_start(self, state: TrainState) -> None:
        self._sync(state)

    def on_stage_start(self, state: TrainState) -> None:
        self._sync(state)

    def on_resume(self, state: TrainState) -> None:
        self._sync(state)

    def on_step_end(self, state: TrainState) -> None:
        loss = state.loss
        comm = loss.comm
        for key, lam in self.lam.items():
            r = loss.last_residuals.get(key)
            # the multipliers are kept whole on every process; each sees its share's residuals
            share = comm.share(lam.shape[0])
            if r is None and share.stop == share.start:  # none of this term's points on this process
                r = lam.new_zeros((0,))
            if not comm.all_true(r is not None and r.shape[0] == share.stop - share.start):
                continue
            local = r.abs().reshape(r.shape[0], -1).amax(1).to(lam.dtype) if r.shape[0] else lam.new_zeros((0,))
            size = comm.gather(local, lam.shape[0])
            lam.mul_(self.decay).add_(self.rate * size / size.max().clamp_min(1e-300))
            loss.point_weights[key] = self._share(loss, self._normalised(lam))

    def on_train_end(self, state: TrainState) -> None:
        for key in self.lam:  # later evaluations (eval, prune) see the plain loss
            state.loss.point_weights.pop(key, None)

    def state_dict(self) -> dict:
        return {k: v.detach().cpu() for k, v in self.lam.items()}

    def load_state_dict(self, state: dict) -> None:
        self.lam = {k: v.clone() for k, v in state.items()}
