"""Grid extension between stages: refit every KAN layer on the next grid of the ladder."""

from __future__ import annotations

import time

from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState


class GridExtension(Callback):
    """At the start of every stage after the first, ``model.extend_grid(grid, interior points)``.

    The refit counts as training time.
    """

    def on_stage_start(self, state: TrainState) -> None:
        if state.stage > 0 and state.grid is not None:
            tic = time.perf_counter()
            state.model.extend_grid(state.grid, state.loss.points.interior)
            state.train_s += time.perf_counter() - tic
