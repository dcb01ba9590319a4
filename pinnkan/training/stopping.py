"""Rules that end a phase or the run: divergence, a stalled loss, the time budget, a signal."""

from __future__ import annotations

import math

import torch

from pinnkan.training import signals
from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState


class Divergence(Callback):
    """A non-finite loss or parameter (a non-finite gradient makes the parameters so), or a loss
    above ``factor`` times its best so far (0: no such limit), ends the run with status "diverged".

    The loss a step reports is the loss of the parameters it started from, so a good step k
    vouches for the parameters before its update: those are kept (``good``), and the model goes
    back to them on divergence. The reason names the step and the loss term that blew up.
    """

    def __init__(self, factor: float = 0.0) -> None:
        self.factor = factor
        self.best = math.inf
        self.good: dict[str, torch.Tensor] | None = None  # parameters whose loss was seen to be fine
        self.pending: dict[str, torch.Tensor] | None = None  # parameters after the last step, not yet seen

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state.get("best", math.inf)

    def on_phase_start(self, state: TrainState) -> None:
        self.good, self.pending = None, _copy(state.model)  # the grid may have changed since the last step

    def on_step_end(self, state: TrainState) -> None:
        loss = state.terms.get("loss", math.nan)
        finite = math.isfinite(loss) and all(bool(torch.isfinite(p).all()) for p in state.model.parameters())
        if finite and not (self.factor and loss > self.factor * self.best):
            self.best = min(self.best, loss)
            self.good, self.pending = self.pending, _copy(state.model)
            return
        if not finite:
            bad = [k for k, v in state.terms.items() if k != "loss" and not math.isfinite(v)]
            what = f"non-finite {bad[0] if bad else 'loss' if not math.isfinite(loss) else 'parameters'}"
        else:
            what = f"loss {loss:.3g} above {self.factor:g} x its best {self.best:.3g}"
        state.status = "diverged"
        state.stop_phase = f"{what} at step {state.step}"
        state.stop_run = True
        if self.good is not None:
            state.model.load_state_dict(self.good)


def _copy(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class Stall(Callback):
    """In a phase that ``converges`` (L-BFGS), ``patience`` steps in a row whose relative loss
    change is at most ``tolerance`` end the phase (the next phase or stage goes on)."""

    def __init__(self, tolerance: float, patience: int = 5) -> None:
        self.tolerance, self.patience = tolerance, patience
        self.stalled, self.prev = 0, None

    def state_dict(self) -> dict:
        return {"stalled": self.stalled, "prev": self.prev}

    def load_state_dict(self, state: dict) -> None:
        self.stalled, self.prev = state.get("stalled", 0), state.get("prev")

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


class StopOnSignal(Callback):
    """A SIGINT or SIGTERM received under ``signals.deferred_signals`` ends the run after this step,
    status "interrupted"."""

    def on_step_end(self, state: TrainState) -> None:
        name = signals.pending()
        if name and not state.stop_run:
            state.status, state.signal = "interrupted", name
            state.stop_phase = f"interrupted by {name} at step {state.step}"
            state.stop_run = True
