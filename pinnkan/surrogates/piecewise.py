"""One surrogate per time window, routed by the time coordinate: what time-marching trains.

``PiecewiseInTime(pieces, edges, axis)``: piece k answers for rows with
``edges[k] <= x[:, axis] < edges[k+1]`` (the last piece also at and past the
end, the first before the start). Values and jets are the pieces' own,
gathered back in the rows' order; autograd through it is exact inside a
window (a window's edge belongs to the later window).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.layout import Layout, as_layout
from pinnkan.surrogates.base import Surrogate


class PiecewiseInTime(Surrogate):
    """Surrogates ``pieces`` (K) on the time windows between ``edges`` (K + 1 increasing times) of coordinate
    ``axis``. Its ``kind`` and ``width`` are the pieces' (all of one kind); ``n_params`` counts every piece."""

    def __init__(self, pieces: Sequence[Surrogate], edges: Sequence[float], axis: int) -> None:
        if len(edges) != len(pieces) + 1 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"PiecewiseInTime: {len(pieces)} pieces need {len(pieces) + 1} increasing edges")
        lo, hi = pieces[0].box()
        lo, hi = lo.clone(), hi.clone()
        lo[axis], hi[axis] = edges[0], edges[-1]
        super().__init__(lo, hi)
        self.pieces = nn.ModuleList(pieces)
        self.edges = [float(e) for e in edges]
        self.axis = axis
        self.kind = pieces[0].kind

    @property
    def has_forward_jet(self) -> bool:
        return all(p.has_forward_jet for p in self.pieces)

    @property
    def grid(self) -> Any:
        return getattr(self.pieces[-1], "grid", None)

    def window_of(self, x: Tensor) -> Tensor:
        """(N,) the window index of each row of x (N, D)."""
        inner = torch.as_tensor(self.edges[1:-1], dtype=x.dtype, device=x.device)
        return torch.bucketize(x[:, self.axis].detach().contiguous(), inner, right=True)

    def _routed(self, x: Tensor, each) -> Tensor:
        """``each(piece, rows of x)`` per window, scattered back into x's row order."""
        index = self.window_of(x)
        parts, rows = [], []
        for k, piece in enumerate(self.pieces):
            mine = (index == k).nonzero().squeeze(1)
            if mine.numel():
                parts.append(each(piece, x.index_select(0, mine)))
                rows.append(mine)
        order = torch.cat(rows)
        out = torch.cat(parts)
        return out.index_select(0, torch.argsort(order))

    def forward(self, x: Tensor) -> Tensor:
        """x (N, D) -> (N, F)."""
        return self._routed(x, lambda piece, xs: piece(xs))

    def forward_jet(self, x: Tensor, layout: int | Layout, laplacian: bool = False) -> Rows:
        layout = as_layout(layout, x.shape[1], laplacian)
        return Rows(self._routed(x, lambda piece, xs: piece.forward_jet(xs, layout).rows), layout)

    def check_layout(self, layout: Layout) -> None:
        for piece in self.pieces:
            piece.check_layout(layout)

    def spec(self) -> dict[str, Any]:
        """The pieces' specs and the windows (what metrics.json shows; the blob keeps each piece's own)."""
        return {"kind": self.kind, "windows": self.edges, "axis": self.axis, "pieces": [p.spec() for p in self.pieces]}

    @property
    def n_params(self) -> int:
        return sum(p.n_params for p in self.pieces)
