"""What a training run knows between steps: the object callbacks read and act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Problem
from pinnkan.training.loss import PINNLoss


@dataclass
class TrainState:
    """The run so far; ``config`` is the resolved configuration and ``callbacks`` all of them, in order.

    ``step`` counts optimizer steps over all phases; ``train_s`` is the wall time
    spent in steps and grid changes (not in logging). ``terms`` are the loss terms
    of the last step. A callback ends the current phase by setting ``stop_phase``
    (a reason) and the whole run with ``stop_run``; ``status`` becomes "diverged"
    or "interrupted" when training did not end normally.
    """

    problem: Problem
    model: Any
    loss: PINNLoss
    tracker: ErrorTracker | None
    config: dict[str, dict[str, Any]]  # the resolved configuration
    callbacks: list[Any] = field(default_factory=list)
    step: int = 0
    train_s: float = 0.0
    stage: int = 0
    grid: int | None = None
    phase: str = ""  # e.g. "lbfgs G=10"
    phase_name: str = ""  # e.g. "lbfgs"
    phase_index: int = 0  # within the stage
    optimizer: Any = None  # the running Phase
    phase_step: int = 0
    phase_steps: int = 0
    converges: bool = False
    terms: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    stop_reasons: list[str] = field(default_factory=list)
    stop_phase: str | None = None
    stop_run: bool = False
    status: str = "ok"
    total_steps: int = 0
    lr_scale: float = 1.0  # below 1 after a divergence retry
    signal: str | None = None  # "SIGINT" or "SIGTERM" when a signal ended the run
    best_model: Any = None  # a surrogate to return instead of ``model`` (budgeted training's best state)
