"""Checkpoints: everything a run needs to continue exactly where it was.

A checkpoint holds the resolved configuration, the surrogate (spec and weights),
the running phase's optimizer state (L-BFGS history included), every callback's
state, the collocation points, the schedule position (stage, phase, step within
it, total steps, training time), the history so far and torch's RNG state. It is
a plain ``torch.save`` of tensors, numbers, strings, lists and dicts, so
``torch.load(path, weights_only=True)`` reads it; it is written to a temporary
file and renamed, so the previous checkpoint stays whole until the new one is.

Resuming from one reproduces the uninterrupted run's arithmetic exactly: the same
parameters, optimizer state and points go into the same steps (given the same
thread counts, see the README's determinism notes).
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import torch

from pinnkan.errors import UserError
from pinnkan.output import atomic_write
from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState

FORMAT = "pinnkan-checkpoint-1"
FILENAME = "checkpoint.pt"


def snapshot(state: TrainState) -> dict[str, Any]:
    """The checkpoint of a run at a step boundary."""
    from pinnkan.surrogates import surrogate_blob

    points = state.loss.points
    return {
        "format": FORMAT,
        "config": state.config,
        "model": surrogate_blob(state.model),
        "optimizer": state.optimizer.state_dict() if state.optimizer is not None else {},
        "callbacks": callback_states(state.callbacks),
        "points": {
            "interior": points.interior.detach().cpu(),
            "conditions": [c.detach().cpu() for c in points.conditions],
        },
        "position": {
            "stage": state.stage,
            "phase": state.phase_index,
            "phase_step": state.phase_step,
            "step": state.step,
            "train_s": state.train_s,
        },
        "history": list(state.history),
        "stop_reasons": list(state.stop_reasons),
        "status": state.status,
        "rng": torch.get_rng_state(),
    }


def _keys(callbacks) -> list[str]:
    """A name per callback: its class name, numbered from the second of a kind on."""
    seen: dict[str, int] = {}
    out = []
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return out


def callback_states(callbacks) -> dict[str, dict]:
    """Every callback's state by name, so a resumed run with other display callbacks still matches them."""
    return {key: cb.state_dict() for key, cb in zip(_keys(callbacks), callbacks)}


def load_callback_states(callbacks, states: dict[str, dict]) -> None:
    for key, cb in zip(_keys(callbacks), callbacks):
        if key in states:
            cb.load_state_dict(states[key])


def restore(state: TrainState, ckpt: dict[str, Any]) -> tuple[int, int, int]:
    """Put a checkpoint's counters, history and RNG into ``state``; (stage, phase, phase step) to resume at.

    The model and the points are restored when the run is built (see :func:`load_checkpoint`).
    """
    pos = ckpt["position"]
    state.step, state.train_s = int(pos["step"]), float(pos["train_s"])
    state.history = list(ckpt["history"])
    state.stop_reasons = list(ckpt["stop_reasons"])
    torch.set_rng_state(ckpt["rng"])
    return int(pos["stage"]), int(pos["phase"]), int(pos["phase_step"])


def serialize(ckpt: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    return buf.getvalue()


def write_checkpoint(path: Path, data: bytes) -> None:
    """Write a serialized checkpoint atomically; a failed write (disk full, folder gone) is one line,
    and the last checkpoint stays whole."""
    try:
        atomic_write(path, lambda p: p.write_bytes(data))
    except OSError as exc:
        raise UserError(f"cannot write checkpoint {str(path)!r}: {exc.strerror or exc}") from None


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint; a missing, truncated or foreign file is a :class:`UserError`."""
    try:
        ckpt = torch.load(path, weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise UserError(f"{str(path.parent)!r} has no checkpoint ({FILENAME}); it is not a resumable run") from None
    except Exception as exc:  # truncated zip, garbage, a pickle that is not plain data
        raise UserError(f"checkpoint {str(path)!r} is corrupt or truncated ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{str(path)!r} is not a pinnkan checkpoint")
    return ckpt


class Checkpointer(Callback):
    """Checkpoints to ``path`` at the start of every phase (after a grid change), every
    ``every_steps`` steps and every ``every_seconds`` of training (0 turns either off), and when a
    signal stopped the run.

    A checkpoint is taken at once but written only after the next step has seen its parameters'
    loss to be fine (the loss a step reports is that of the parameters it started from), so the
    file on disk never holds a state that had already diverged: ``--on-divergence retry`` resumes
    from it.
    """

    def __init__(self, path: Path, every_steps: int = 0, every_seconds: float = 120.0) -> None:
        self.path, self.every_steps, self.every_seconds = Path(path), every_steps, every_seconds
        self.last_step, self.last_time = 0, time.perf_counter()
        self.pending: bytes | None = None

    def take(self, state: TrainState) -> None:
        self.pending = serialize(snapshot(state))
        self.last_step, self.last_time = state.step, time.perf_counter()

    def flush(self) -> None:
        if self.pending is not None:
            write_checkpoint(self.path, self.pending)
            self.pending = None

    def on_phase_start(self, state: TrainState) -> None:
        if state.phase_step == 0:  # a resumed phase already has its checkpoint
            self.take(state)

    def on_step_end(self, state: TrainState) -> None:
        if state.status != "ok":
            self.pending = None  # its parameters led here: not worth keeping
            return
        self.flush()
        if state.stop_phase:
            return  # the phase is ending: the next one takes its own
        due_steps = self.every_steps and state.step - self.last_step >= self.every_steps
        due_time = self.every_seconds and time.perf_counter() - self.last_time >= self.every_seconds
        if due_steps or due_time:
            self.take(state)

    def on_train_end(self, state: TrainState) -> None:
        if state.signal is not None:  # stopped cleanly after a step: resumable from here
            self.take(state)
            self.flush()
