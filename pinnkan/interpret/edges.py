"""A KAN's edge functions at sample points, and their importance.

The importance of an edge is the mean |phi(x)| over the inputs it sees (the KAN
paper's L1 measure); a hidden node's is the smaller of its strongest incoming and
strongest outgoing edge (a node matters only if something strong enters and leaves it).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pinnkan.errors import UserError
from pinnkan.surrogates import Surrogate
from pinnkan.surrogates.kan import KAN


def require_kan(model: Surrogate, what: str) -> KAN:
    """The model as a B-spline KAN, or a UserError naming ``what`` needs one."""
    if len(getattr(model, "pieces", ())) > 1:  # pinnkan.surrogates.piecewise: time-marching windows
        raise UserError(
            f"{what} needs one B-spline KAN; this run's model is one per time window (solve it with --windows 1)"
        )
    if not isinstance(model, KAN):
        raise UserError(f"{what} needs a B-spline KAN (--model kan); this run's model is {model.kind!r}")
    if getattr(model, "enrichment", None) is not None:
        raise UserError(
            f"{what} needs a plain B-spline KAN; this run's model adds the problem's singular functions "
            "(solve it with --set model.enrich=false)"
        )
    if getattr(model, "constraint", None) is not None:
        raise UserError(
            f"{what} needs a plain B-spline KAN; this run's model imposes the boundary data, u = g + d N "
            "(solve it with --set model.hard_bc=false)"
        )
    if getattr(model, "output_scale", None) is not None:
        raise UserError(
            f"{what} needs a plain B-spline KAN; this run's model scales its output by a fixed factor "
            "(solve it with --set model.output_scale=1)"
        )
    return model


@dataclass
class LayerEdges:
    """One layer's edges at N sample points: inputs (N, in), values (N, in, out), mask (out, in)."""

    inputs: Tensor
    values: Tensor
    mask: Tensor

    @property
    def importance(self) -> Tensor:
        """(out, in): mean |phi| of every edge (0 for a pruned edge)."""
        return self.values.abs().mean(0).T * self.mask


@torch.no_grad()
def layer_edges(model: KAN, x: Tensor) -> list[LayerEdges]:
    """Every layer's edge inputs and values at the points x (N, D) of the problem's domain."""
    out = []
    for layer, z in zip(model.layers, model.layer_inputs(x)):
        out.append(LayerEdges(z, layer.edges(z, 0)[:, :, 0, :].permute(1, 0, 2), layer.mask.clone()))
    return out


def edge_l1(model: Surrogate, x: Tensor) -> float | None:
    """Sum of every edge's importance (None for a surrogate without edge functions): ``model.edge_sum``."""
    return model.edge_sum(x)


def node_importance(edges: list[LayerEdges]) -> list[Tensor]:
    """(width,) per hidden layer: min(max incoming, max outgoing) edge importance of every node."""
    out = []
    for before, after in zip(edges[:-1], edges[1:]):
        incoming = before.importance.max(dim=1).values  # (width,)
        outgoing = after.importance.max(dim=0).values
        out.append(torch.minimum(incoming, outgoing))
    return out
