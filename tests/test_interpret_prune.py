"""Pruning: weak nodes and edges go, the rest of the network is unchanged; the mask survives save/load."""

from __future__ import annotations

import math

import pytest
import torch

from pinnkan.errors import UserError
from pinnkan.interpret.edges import layer_edges, node_importance
from pinnkan.interpret.prune import live_edges, prune
from pinnkan.surrogates import load_surrogate, save_surrogate
from pinnkan.surrogates.kan import KAN

from .conftest import kan_with_edges


def _weak_node_kan():
    """[2,3,1]: node 1 carries a 1e-4 signal, edge y -> node 0 is 1e-4; the rest is sin(pi x) + y^2."""
    return kan_with_edges(
        [2, 3, 1],
        {
            (0, 0, 0): lambda t: torch.sin(math.pi * t),
            (0, 1, 0): lambda t: 1e-4 * t,
            (0, 0, 1): lambda t: 1e-4 * t,
            (0, 1, 2): torch.square,
            (1, 0, 0): lambda t: t,
            (1, 1, 0): lambda t: t,
            (1, 2, 0): lambda t: t,
        },
        grid=10,
    )


def test_importance_and_node_scores():
    model = _weak_node_kan()
    x = torch.rand(2000, 2) * 2 - 1
    edges = layer_edges(model, x)
    imp = edges[0].importance  # (out, in)
    assert imp[0, 0] > 0.5 and imp[0, 1] < 1e-3 and imp[1, 0] < 1e-3 and imp[1, 1] < 1e-6
    nodes = node_importance(edges)[0]
    assert nodes[1] < 1e-3 < nodes[0] and nodes[2] > 0.1


def test_prune_removes_weak_node_and_masks_weak_edge():
    model = _weak_node_kan()
    x = torch.rand(2000, 2) * 2 - 1
    small, report = prune(model, x, 1e-2)
    assert report.widths_after == [2, 2, 1] and report.kept_nodes[1] == [0, 2]
    assert report.edges_after == live_edges(small) == 4  # x->0, y->2, 0->u, 2->u
    with torch.no_grad():
        assert float((small(x) - model(x)).abs().max()) < 1e-3  # only 1e-4-sized parts were removed
    # a masked edge contributes nothing and gets no gradient
    assert small.layers[0].mask[0, 1] == 0
    small(x).sum().backward()
    assert small.layers[0].spline_weight.grad[0, 1].abs().max() == 0
    assert small.layers[0].base_weight.grad[0, 1] == 0


def test_prune_everything_is_refused():
    model = _weak_node_kan()
    with pytest.raises(UserError, match="prunes every node"):
        prune(model, torch.rand(100, 2) * 2 - 1, 1e3)
    with pytest.raises(UserError, match=">= 0"):
        prune(model, torch.rand(100, 2) * 2 - 1, -1.0)


def test_mask_survives_save_and_old_models_load(tmp_path):
    model = _weak_node_kan()
    small, _ = prune(model, torch.rand(500, 2) * 2 - 1, 1e-2)
    save_surrogate(small, tmp_path / "m.pt")
    again = load_surrogate(tmp_path / "m.pt")
    torch.testing.assert_close(again.layers[0].mask, small.layers[0].mask)
    # a model saved before masks existed: every edge live
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    blob["state_dict"] = {k: v for k, v in blob["state_dict"].items() if not k.endswith(".mask")}
    old = KAN([2, 2, 1], -torch.ones(2), torch.ones(2), grid=10).double()
    old.load_state_dict(blob["state_dict"])
    assert old.layers[0].mask.eq(1).all()


def test_masked_kan_forward_jet_matches_autograd():
    from pinnkan.jet import compute_jet

    small, _ = prune(_weak_node_kan(), torch.rand(500, 2) * 2 - 1, 1e-2)
    x = torch.rand(64, 2) * 2 - 1
    fwd = compute_jet("forward", small, x, 2, ("x", "y"), ("u",), create_graph=False)
    ref = compute_jet("autograd", small, x, 2, ("x", "y"), ("u",), create_graph=False)
    torch.testing.assert_close(fwd.grad, ref.grad)
    torch.testing.assert_close(fwd.lap(), ref.lap())
