"""Residual-based adaptive resampling of the interior points (RAD, Wu et al. 2023), at each grid stage.

At the start of every stage after the first (``train.resample = "rad"``), the
interior collocation points are drawn again: from a pool of ``4 N`` fresh points
of the domain, N are kept with probability proportional to
``|r|^k / mean |r|^k + c`` (k = 1, c = 1), r the current PDE residual. Points
gather where the residual is large (a re-entrant corner, a steep front) while
the constant c keeps every region sampled. Resampling happens before the grid is
extended so that the new grid fits the new points; the draw is seeded by the run
seed and the stage, so a run repeats exactly, and the points go into checkpoints
like the first ones.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from pinnkan.metrics import pde_residual
from pinnkan.training.callback import Callback
from pinnkan.training.state import TrainState

RESAMPLINGS = ("none", "rad")
POOL_FACTOR = 4
POWER, FLOOR = 1.0, 1.0


def rad_weights(residual: np.ndarray, power: float = POWER, floor: float = FLOOR) -> np.ndarray:
    """Sampling probabilities (M,) from residuals |r| (M,): |r|^k / mean |r|^k + c, normalised."""
    r = np.abs(residual) ** power
    w = r / max(float(r.mean()), 1e-300) + floor
    return w / w.sum()


class ResidualResampling(Callback):
    """Redraw the interior points by the residual at each stage start after the first (see module doc)."""

    def __init__(self, seed: int, sampling: str = "sobol") -> None:
        self.seed, self.sampling = seed, sampling

    def on_stage_start(self, state: TrainState) -> None:
        if state.stage == 0:
            return
        tic = time.perf_counter()
        p, points = state.problem, state.loss.points
        n = points.interior.shape[0]
        stage_seed = self.seed + 7_777 * state.stage
        pool_np = p.interior(POOL_FACTOR * n, stage_seed, self.sampling)
        pool = torch.as_tensor(pool_np, dtype=points.interior.dtype, device=points.interior.device)
        weights = rad_weights(pde_residual(p, state.model, pool, state.loss.engine).double().cpu().numpy())
        rows = np.random.default_rng(stage_seed).choice(len(pool), size=n, replace=False, p=weights)
        points.interior = pool[np.sort(rows)]
        state.train_s += time.perf_counter() - tic
