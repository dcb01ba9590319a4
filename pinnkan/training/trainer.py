"""The training loop: stages of optimizer phases, with callbacks between steps."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Problem
from pinnkan.training.callback import Callback
from pinnkan.training.checkpoint import load_callback_states, restore
from pinnkan.training.grid import GridExtension
from pinnkan.training.history import HistoryLogger, Progress
from pinnkan.training.loss import Collocation, DataTerm, PINNLoss
from pinnkan.training.phase import Phase
from pinnkan.training.resample import ResidualResampling
from pinnkan.training.schedule import Stage, plan
from pinnkan.training.state import TrainState
from pinnkan.training.stopping import Divergence, Stall, StopOnSignal, TimeBudget


@dataclass
class Outcome:
    """What a run produced: history rows, status ("ok", "diverged", "interrupted"), why each phase stopped."""

    history: list[dict[str, Any]]
    status: str
    stop_reasons: list[str] = field(default_factory=list)
    train_s: float = 0.0
    steps: int = 0
    signal: str | None = None  # the signal that ended the run, if one did
    model: Any = None  # the surrogate to keep when not the one trained last (budgeted training's best state)
    reports: dict[str, Any] = field(default_factory=dict)  # per callback with a report(): what it did


def default_callbacks(cfg: dict[str, dict[str, Any]], tracker: ErrorTracker | None) -> list[Callback]:
    """The callbacks every run has, in order: grid extension, stopping rules, history, progress."""
    t, r = cfg["train"], cfg["run"]
    out: list[Callback] = []
    from pinnkan.training import TECHNIQUES

    if t.get("resample", "none") == "rad":  # before the grid extension, which fits the new points
        out.append(ResidualResampling(r["seed"], cfg["data"]["sampling"]))
    out.append(GridExtension())
    # adaptive weights after the points and the grid are set for the stage, before the stopping rules
    out += [cb for cls in TECHNIQUES.values() if (cb := cls.from_config(cfg)) is not None]
    out += [Divergence(t["divergence_factor"]), Stall(t["tolerance"])]
    out += [TimeBudget(t["max_time"]), StopOnSignal(), HistoryLogger(r["log_every"])]
    if r["progress"]:
        out.append(Progress())
    return out


class Trainer:
    """Trains ``model`` on ``problem`` as the resolved configuration says.

    The phases come from the registry ``pinnkan.training.PHASES`` by the names in
    ``train.optimizer``; ``callbacks`` run after the default ones.
    """

    def __init__(
        self,
        problem: Problem,
        model,
        cfg: dict[str, dict[str, Any]],
        tracker: ErrorTracker | None,
        engine: str,
        points: Collocation,
        callbacks: Sequence[Callback] = (),
        data: DataTerm | None = None,
    ) -> None:
        self.problem, self.model, self.cfg, self.tracker = problem, model, cfg, tracker
        self.loss = PINNLoss(problem, model, engine, points, cfg["train"]["alpha"], data)
        self.callbacks = default_callbacks(cfg, tracker) + list(callbacks)

    def loss_terms(self):
        """The loss terms (scalar tensors) at the current parameters; see :class:`PINNLoss`."""
        return self.loss.terms()

    def plan(self) -> list[Stage]:
        return plan(self.cfg["train"])

    def _phase(self, name: str) -> Phase:
        from pinnkan.training import PHASES

        return PHASES[name](self.loss, self.cfg["train"])

    def _emit(self, hook: str, state: TrainState) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(state)

    def run(self, resume: dict[str, Any] | None = None, lr_scale: float = 1.0) -> Outcome:
        """Train through every stage and phase; with ``resume`` (a checkpoint, see
        :mod:`pinnkan.training.checkpoint`) continue from where it was taken, the model and the
        collocation points already restored. ``lr_scale`` multiplies every phase's step size."""
        stages = self.plan()
        state = TrainState(self.problem, self.model, self.loss, self.tracker, self.cfg, self.callbacks)
        state.total_steps = sum(n for s in stages for _, n in s.phases)
        state.lr_scale = lr_scale
        at = (0, 0, 0)
        if resume is not None:
            at = restore(state, resume)
        try:
            self._emit("on_train_start", state)
            for i, stage in enumerate(stages[at[0] :], start=at[0]):
                state.stage, state.grid = i, stage.grid
                resuming = resume is not None and i == at[0]
                if not resuming:
                    self._emit("on_stage_start", state)
                for j, (name, n_steps) in enumerate(stage.phases):
                    if resuming and j < at[1]:
                        continue
                    again = resuming and j == at[1]
                    self._run_phase(state, j, name, n_steps, resume if again else None, at[2] if again else 0)
                    if state.stop_run:
                        break
                self._emit("on_stage_end", state)
                if state.stop_run:
                    break
        except KeyboardInterrupt:
            state.status = "interrupted"
            state.stop_reasons.append(f"interrupted at step {state.step}")
        finally:
            self._emit("on_train_end", state)
        reports = {
            getattr(cb, "name", type(cb).__name__): cb.report() for cb in self.callbacks if hasattr(cb, "report")
        }
        return Outcome(
            state.history,
            state.status,
            state.stop_reasons,
            state.train_s,
            state.step,
            state.signal,
            state.best_model,
            reports,
        )

    def _run_phase(
        self, state: TrainState, index: int, name: str, n_steps: int, resume: dict | None = None, start: int = 0
    ) -> None:
        phase = self._phase(name)
        state.optimizer, state.phase_index = phase, index
        state.phase_name, state.converges = name, phase.converges
        state.phase = name + (f" G={state.grid}" if state.grid is not None else "")
        state.phase_step, state.phase_steps, state.stop_phase = start, n_steps, None
        if resume is not None:
            phase.load_state_dict(resume["optimizer"])
        if state.lr_scale != 1.0:
            phase.scale_lr(state.lr_scale)
        self._emit("on_phase_start", state)
        if resume is not None:  # after on_phase_start, which resets per-phase counters
            load_callback_states(self.callbacks, resume["callbacks"])
            self._emit("on_resume", state)
        for _ in range(start, n_steps):
            tic = time.perf_counter()
            state.terms = phase.step()
            state.train_s += time.perf_counter() - tic
            state.step += 1
            state.phase_step += 1
            self._emit("on_step_end", state)
            if self.loss.comm.active:  # the clock and the signals are rank 0's: every process stops together
                agreed = (state.stop_phase, state.stop_run, state.status, state.signal)
                state.stop_phase, state.stop_run, state.status, state.signal = self.loss.comm.broadcast(agreed)
            if state.stop_phase:
                break
        self._emit("on_phase_end", state)
        state.stop_reasons.append(f"{state.phase}: {state.stop_phase or f'{n_steps} steps done'}")
