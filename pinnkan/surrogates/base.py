"""The interface every surrogate implements."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows


class Surrogate(nn.Module):
    """A network from the box domain (N, D) to the fields (N, F).

    Inputs are mapped affinely from the box ``[lo, hi]`` to ``[-1, 1]^D`` first,
    so every surrogate sees the same scale whatever the problem's domain.
    Subclasses implement ``body`` (normalised inputs to outputs) and, for the fast
    derivative engine, ``body_jet`` (the same on stacked jet rows).
    """

    kind: str = ""

    def __init__(self, lo: Tensor, hi: Tensor) -> None:
        super().__init__()
        lo, hi = (
            torch.as_tensor(lo, dtype=torch.get_default_dtype()),
            torch.as_tensor(hi, dtype=torch.get_default_dtype()),
        )
        self.register_buffer("in_scale", 2.0 / (hi - lo))
        self.register_buffer("in_shift", -(hi + lo) / (hi - lo))

    def forward(self, x: Tensor) -> Tensor:
        """x (N, D) -> (N, F)."""
        return self.body(x * self.in_scale + self.in_shift)

    def forward_jet(self, x: Tensor, order: int, laplacian: bool = False) -> Rows:
        """Value and derivatives up to ``order`` (0, 1, 2) as stacked rows (N, S, F).

        With ``laplacian`` the second-order rows are summed into one (see :class:`Rows`);
        surrogates that can propagate that row natively override this.
        """
        rows = self.body_jet(Rows.of_input(x, order, self.in_scale, self.in_shift))
        return rows.to_laplacian() if laplacian else rows

    def body(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def body_jet(self, rows: Rows) -> Rows:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Everything needed to rebuild this surrogate (JSON-able)."""
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
