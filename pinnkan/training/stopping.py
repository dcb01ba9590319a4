"""Rules that end a phase or the run: divergence, a stalled loss, the time budget."""

from __future__ import annotations

import math

from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState


class Divergence(Callback):
    """A non-finite loss ends the run with status "diverged"."""

    def on_step_end(self, state: TrainState) -> None:
        if not math.isfinite(state.terms.get("loss", math.nan)):
            state.status = "diverged"
            state.stop_phase = "non-finite loss"
            state.stop_run = True


class Stall(Callback):
    """In a phase that ``converges`` (L-BFGS), ``patience`` steps in a row whose relative loss
    change is at most ``tolerance`` end the phase (the next phase or stage goes on)."""

    def __init__(self, tolerance: float, patience: int = 5) -> None:
        self.tolerance, self.patience = tolerance, patience
        self.stalled, self.prev = 0, None

    def on_phase_start(self, state: TrainState) -> None:
        self.stalled, self.prev = 0, None

    def on_step_end(self, state: TrainState) -> None:
        cur = state.terms["loss"]
        if not state.converges or state.stop_phase:
            self.prev = cur
            return
        if self.prev is not None and abs(self.prev - cur) <= self.tolerance * max(abs(cur), 1e-300):
            self.stalled += 1
        else:
            self.stalled = 0
        self.prev = cur
        if self.stalled >= self.patience:
            state.stop_phase = (
                f"loss change below tolerance {self.tolerance:g} for {self.patience} steps (step {state.phase_step})"
            )


class TimeBudget(Callback):
    """Training time beyond ``seconds`` ends the run."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def on_step_end(self, state: TrainState) -> None:
        if self.seconds and state.train_s > self.seconds and not state.stop_phase:
            state.stop_phase = f"time budget {self.seconds:g}s reached"
            state.stop_run = True
