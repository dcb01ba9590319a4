"""Adam: first-order warm-up phase."""

from __future__ import annotations

import torch

from pinnkan.training.phase import Phase


class Adam(Phase):
    """torch.optim.Adam with learning rate ``train.lr``."""

    name = "adam"

    def __init__(self, loss, settings) -> None:
        super().__init__(loss, settings)
        self.opt = torch.optim.Adam(self.params, lr=settings["lr"])

    def step(self) -> dict[str, float]:
        self.opt.step(self.closure())
        return self.last_terms
