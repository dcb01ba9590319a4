"""The training history (loss terms and test errors every few steps) and the progress display."""

from __future__ import annotations

import math
import sys
import time
from typing import Any

from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState


class HistoryLogger(Callback):
    """Appends a row to ``state.history`` every ``every`` steps, at the end of every phase and when
    interrupted: step, phase, wall_s, params, every loss term, and the test errors."""

    def __init__(self, every: int) -> None:
        self.every = every

    def log(self, state: TrainState, phase: str) -> None:
        row: dict[str, Any] = {"step": state.step, "phase": phase, "wall_s": round(state.train_s, 4)}
        row["params"] = state.model.n_params
        row.update({k: state.terms.get(k, float("nan")) for k in state.loss.term_names})
        unknowns = getattr(state.model, "unknowns", None)
        if unknowns is not None:  # an inverse problem's estimates
            row.update(unknowns.values())
        if state.tracker is not None:
            row.update(state.tracker(state.model, state.loss.engine))
        state.history.append(row)

    def logged_now(self, state: TrainState) -> bool:
        return bool(state.history) and state.history[-1]["step"] == state.step

    def on_step_end(self, state: TrainState) -> None:
        if state.step % self.every == 0:
            self.log(state, state.phase)

    def on_phase_end(self, state: TrainState) -> None:
        if state.phase_step and not self.logged_now(state):
            self.log(state, state.phase)

    def on_train_end(self, state: TrainState) -> None:
        if state.status == "interrupted" and state.terms and not self.logged_now(state):
            self.log(state, "interrupted")


class Progress(Callback):
    """A tqdm bar on a terminal; elsewhere a status line at most every ``every_s`` seconds."""

    def __init__(self, every_s: float = 15.0) -> None:
        self.every_s = every_s
        self.bar = None
        self.last = time.perf_counter()

    def on_train_start(self, state: TrainState) -> None:
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=state.total_steps, unit="step", dynamic_ncols=True, file=sys.stderr)

    def on_step_end(self, state: TrainState) -> None:
        if not state.history or state.history[-1]["step"] != state.step:
            return
        row = state.history[-1]
        info = {"loss": row.get("loss"), "mse": row.get("mse")}
        text = " ".join(f"{k}={v:.2e}" for k, v in info.items() if v is not None and not math.isnan(v))
        if self.bar is not None:
            self.bar.n = state.step
            self.bar.set_postfix_str(text, refresh=True)
        elif time.perf_counter() - self.last > self.every_s:
            self.last = time.perf_counter()
            print(f"step {state.step}/{state.total_steps} {text}", file=sys.stderr, flush=True)

    def on_train_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()
