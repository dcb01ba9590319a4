"""L-BFGS with a strong-Wolfe line search: the main phase for smooth, full-batch PINN losses."""

from __future__ import annotations

import torch

from pinnkan.training.phase import Phase


class LBFGS(Phase):
    """One quasi-Newton step per call (at most 40 loss evaluations in its line search).

    History ``train.history_size``; torch's own tolerances are off, so stopping is
    the stall callback's decision (``train.tolerance``).
    """

    name = "lbfgs"
    converges = True

    def __init__(self, loss, settings) -> None:
        super().__init__(loss, settings)
        self.opt = torch.optim.LBFGS(
            self.params,
            lr=1.0,
            max_iter=1,
            max_eval=40,
            history_size=settings["history_size"],
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn="strong_wolfe",
        )

    def step(self) -> dict[str, float]:
        self.opt.step(self.closure())
        return self.last_terms
