"""Training callbacks: everything that happens between optimizer steps.

A callback overrides any of the hooks below; the trainer calls them in this
order::

    on_train_start
      for each stage (one per KAN grid):  on_stage_start
        for each phase of the stage:      on_phase_start
          for each step:                  on_step_end
                                          on_phase_end
                                          on_stage_end
    on_train_end

A resumed run skips the hooks of what it had already passed and calls
``on_resume`` once its callbacks' saved states are back (after ``on_phase_start``
of the phase it resumes in), so a callback can put its state into the loss.

Callbacks run in list order at every hook. To end the current phase set
``state.stop_phase`` to a reason; to end the run also set ``state.stop_run``.
Adding a training technique (resampling, re-weighting, a stopping rule) is one
module with a Callback subclass (docs/architecture.md).
"""

from __future__ import annotations

from pinnkan.training.state import TrainState


class Callback:
    """Base class: every hook does nothing. A callback with state that a resumed run needs
    (counters, best values) returns it from ``state_dict`` and takes it back in ``load_state_dict``."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def on_train_start(self, state: TrainState) -> None:
        pass

    def on_stage_start(self, state: TrainState) -> None:
        pass

    def on_phase_start(self, state: TrainState) -> None:
        pass

    def on_step_end(self, state: TrainState) -> None:
        pass

    def on_resume(self, state: TrainState) -> None:
        pass

    def on_phase_end(self, state: TrainState) -> None:
        pass

    def on_stage_end(self, state: TrainState) -> None:
        pass

    def on_train_end(self, state: TrainState) -> None:
        pass
