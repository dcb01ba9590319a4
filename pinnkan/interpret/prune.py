"""Pruning a KAN: drop the hidden nodes and edges whose importance falls below a threshold.

Importances are those of :mod:`pinnkan.interpret.edges` at sample points. A hidden
node goes when min(strongest incoming, strongest outgoing edge) < threshold, and
with it all its edges (the layers shrink); a surviving edge below the threshold is
masked (``KANLayer.mask``: it contributes nothing and gets no gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pinnkan.errors import UserError
from pinnkan.interpret.edges import layer_edges, node_importance, require_kan
from pinnkan.surrogates import Surrogate
from pinnkan.surrogates.kan import KAN


@dataclass
class PruneReport:
    """Widths and live-edge counts before and after."""

    widths_before: list[int]
    widths_after: list[int]
    edges_before: int
    edges_after: int
    kept_nodes: list[list[int]]  # per layer of nodes (inputs ... outputs), the indices kept

    def as_dict(self) -> dict:
        return {
            "widths_before": self.widths_before,
            "widths_after": self.widths_after,
            "edges_before": self.edges_before,
            "edges_after": self.edges_after,
            "kept_nodes": self.kept_nodes,
        }


def live_edges(model: KAN) -> int:
    return int(sum(layer.mask.sum() for layer in model.layers))


@torch.no_grad()
def prune(model: Surrogate, x: Tensor, threshold: float) -> tuple[KAN, PruneReport]:
    """A smaller copy of the KAN ``model`` without the nodes and edges under ``threshold`` at points x (N, D)."""
    kan = require_kan(model, "pruning")
    if not threshold >= 0:
        raise UserError(f"the pruning threshold must be >= 0, got {threshold}")
    x = x.to(dtype=next(kan.parameters()).dtype)
    edges = layer_edges(kan, x)
    nodes = node_importance(edges)
    kept = [list(range(kan.widths[0]))]
    for layer, imp in enumerate(nodes, start=1):
        keep = [j for j in range(kan.widths[layer]) if float(imp[j]) >= threshold]
        if not keep:
            raise UserError(
                f"threshold {threshold:g} prunes every node of hidden layer {layer} "
                f"(largest node importance {float(imp.max()):.3g}); use a smaller threshold"
            )
        kept.append(keep)
    kept.append(list(range(kan.widths[-1])))
    widths = [len(k) for k in kept]
    lo, hi = kan.box()
    with torch.random.fork_rng(devices=[]):
        small = KAN(widths, lo, hi, grid=kan.grid, k=kan.k, basis=kan.basis).to(x.dtype)
    for layer, (old, new, e) in enumerate(zip(kan.layers, small.layers, edges)):
        rows, cols = torch.tensor(kept[layer + 1]), torch.tensor(kept[layer])
        new.grid = old.grid
        new.knots = old.knots[cols].clone()
        new._uniform = old.uniform
        new.base_weight.data = old.base_weight[rows][:, cols].clone()
        new.spline_weight.data = old.spline_weight[rows][:, cols].clone()
        new.spline_scaler.data = old.spline_scaler[rows][:, cols].clone()
        importance = e.importance[rows][:, cols]
        new.mask = (old.mask[rows][:, cols] * (importance >= threshold)).to(old.mask.dtype)
    if bool((small.layers[-1].mask.sum(1) == 0).any()):
        raise UserError(f"threshold {threshold:g} prunes every edge into an output; use a smaller threshold")
    report = PruneReport(list(kan.widths), widths, live_edges(kan), live_edges(small), kept)
    return small, report
