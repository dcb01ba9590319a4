"""Loss balancing by gradient norms (Wang, Teng & Perdikaris 2021; the "expert's guide" form, 2023).

Every ``train.balance_every`` = 100 steps (and at the start of each stage) the
gradient of each loss term L_j (the PDE term alpha * pde_loss, each condition's
term, the data term) with respect to the parameters is taken, and each term's
scale is moved towards the value that gives every scaled term the same gradient
norm,

    s_i_hat = sum_j ||grad L_j|| / ||grad L_i||,     s_i <- m * s_i + (1 - m) * s_i_hat,

m = ``train.balance_momentum`` = 0.9 (the first update sets s = s_hat). The scales
multiply the terms in the loss (``PINNLoss.term_scale``), so every optimizer and
Gauss–Newton's Jacobian minimise the balanced loss. The gradients are those of
the plain terms (without per-point weights). Costs one backward pass per term
at each update. ``train.balance = "gradnorm"`` switches it on; a loss of one
term has nothing to balance and is refused.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from pinnkan.keys import Key, positive
from pinnkan.training.state import TrainState
from pinnkan.training.technique import Technique

BALANCINGS = ("none", "gradnorm")


def _momentum(value: float) -> str | None:
    return None if 0.0 <= value < 1.0 else "must be in [0, 1)"


def term_tensors(loss) -> dict[str, torch.Tensor]:
    """Each balanced term (scalar, with graph) by its key: "pde", the conditions' names, "data"."""
    terms = loss.terms()
    out = {"pde": loss.alpha * terms["pde_loss"]}
    out.update({name: terms[f"{name}_loss"] for name in loss.trained_names})
    if loss.data is not None:
        out["data"] = loss.data.weight * terms["data_loss"]
    return out


class GradientBalance(Technique):
    """Term scales from gradient norms (see the module docstring)."""

    name = "balance"
    distributed = True
    switch = {"balance": "gradnorm"}
    config_keys = {
        "balance": Key("str", "none", BALANCINGS, help="gradnorm: scale loss terms to equal gradient norms"),
        "balance_every": Key("int", 100, check=positive, help="steps between loss-balancing updates"),
        "balance_momentum": Key("float", 0.9, check=_momentum, help="moving-average factor of the term scales"),
    }

    def __init__(self, every: int = 100, momentum: float = 0.9) -> None:
        self.every, self.momentum = every, momentum
        self.scale: dict[str, float] = {}

    @classmethod
    def from_config(cls, cfg: dict[str, dict[str, Any]]) -> GradientBalance | None:
        t = cfg["train"]
        return cls(t["balance_every"], t["balance_momentum"]) if t.get("balance", "none") == "gradnorm" else None

    @classmethod
    def check(cls, problem, cfg: dict[str, dict[str, Any]]) -> None:
        data = bool(cfg["data"].get("observations") or getattr(problem, "has_observations", False))
        if cfg["train"].get("balance", "none") == "none" or data:
            return
        imposed: set[int] = set()
        if cfg.get("model", {}).get("hard_bc"):  # conditions built into the surrogate leave the loss
            from pinnkan.constraint import imposed_conditions

            try:
                imposed = imposed_conditions(problem)
            except ValueError:  # refused with its own message where the constraint is attached
                pass
        if len(problem.conditions) == len(imposed):
            why = " besides the conditions model.hard_bc imposes" if imposed else ""
            raise ValueError(
                f"train.balance: problem {problem.name!r} has one loss term only{why}; nothing to balance"
            )

    def update(self, state: TrainState) -> None:
        loss = state.loss
        params = [p for p in state.model.parameters() if p.requires_grad]
        terms = term_tensors(loss)
        norms = {}
        for i, (key, term) in enumerate(terms.items()):
            grads = [None] * len(params)  # a term with none of its points on this process has no graph here
            if term.requires_grad:
                grads = torch.autograd.grad(term, params, retain_graph=i + 1 < len(terms), allow_unused=True)
            flat = torch.cat([(torch.zeros_like(q) if g is None else g).reshape(-1) for q, g in zip(params, grads)])
            flat = loss.comm.sum_(flat.detach()) if loss.comm.active else flat  # each process's share summed
            norms[key] = math.sqrt(float(flat.square().sum()))
        total = sum(norms.values())
        for key, norm in norms.items():
            target = total / norm if norm > 0 and math.isfinite(norm) else self.scale.get(key, 1.0)
            old = self.scale.get(key)
            self.scale[key] = target if old is None else self.momentum * old + (1 - self.momentum) * target
        loss.term_scale.update(self.scale)

    def on_stage_start(self, state: TrainState) -> None:
        self.update(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self.update(state)

    def on_train_end(self, state: TrainState) -> None:
        for key in self.scale:
            state.loss.term_scale.pop(key, None)

    def state_dict(self) -> dict:
        return dict(self.scale)

    def load_state_dict(self, state: dict) -> None:
        self.scale = {k: float(v) for k, v in state.items()}

    def on_resume(self, state: TrainState) -> None:
        state.loss.term_scale.update(self.scale)
