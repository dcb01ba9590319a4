"""What a run returns: :class:`Solution`, the trained surrogate and what is known about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Problem
from pinnkan.surrogates import Surrogate


@dataclass
class Solution:
    """A trained surrogate and what is known about it.

    ``errors``: the final test-set figures (mse, rel_l2, h1_mse, rel_h1 and, with
    several fields, each per field; without a known solution the check-set residuals
    residual_mean, residual_max, bc_mean, bc_max: ``tracker.measure`` says which);
    ``history``: one dict per logged step (see history.csv); ``status``: "ok",
    "diverged" or "interrupted"; ``stop_reasons``: why each phase ended; ``config``:
    every setting, resolved. After a divergence ``model`` is its last good state and
    ``errors`` are that state's.
    """

    problem: Problem
    model: Surrogate
    config: dict[str, dict[str, Any]]
    engine: str
    history: list[dict[str, Any]]
    errors: dict[str, float]
    status: str
    stop_reasons: list[str]
    steps: int
    train_s: float
    tracker: ErrorTracker = field(repr=False)
    signal: str | None = None  # "SIGINT" / "SIGTERM" when a signal ended training
    restarts: dict[str, Any] | None = None  # the starts tried and their losses (pinnkan.restarts.scout)
    term_names: tuple[str, ...] = ()  # the loss terms of the history (pinnkan.training.term_names)
    reports: dict[str, Any] = field(default_factory=dict)  # what callbacks with a report did (budgeted training)

    @property
    def plan(self) -> dict[str, Any] | None:
        """The planner's decisions and the signals they came from (``config["plan"]``), or None."""
        return self.config.get("plan")

    @property
    def unknowns(self) -> dict[str, float]:
        """The learned parameters (an inverse problem's), name -> estimate; empty without."""
        module = getattr(self.model, "unknowns", None)
        return {} if module is None else module.values()

    def __call__(self, x: np.ndarray | Tensor) -> np.ndarray:
        """The fields (N, F) at points x (N, D), as a NumPy array."""
        param = next(self.model.parameters())
        xt = torch.as_tensor(np.asarray(x), dtype=param.dtype, device=param.device)
        with torch.no_grad():
            return self.model(xt).cpu().numpy()

    @property
    def final_loss(self) -> float | None:
        return self.history[-1].get("loss") if self.history else None
