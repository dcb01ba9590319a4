"""The Triton kernels of the KAN layer jet, run by Triton's interpreter on CPU tensors (TRITON_INTERPRET=1),
against the PyTorch node: rows and every gradient, for shapes that stress the masks (one input, odd widths, a
batch that is not a multiple of the block, inputs outside the grid) and spline orders 2 to 4. Small sizes: the
interpreter is slow."""

import os

import pytest
import torch

os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are first imported
pytest.importorskip("triton")

from pinnkan.layout import Layout  # noqa: E402
from pinnkan.surrogates import KAN, kan_jet, kan_triton  # noqa: E402

from .conftest import rel_err  # noqa: E402

LAYOUTS = {
    "laplacian": Layout.standard(2, 2, laplacian=True),
    "diag": Layout.standard(2, 2),
    "mixed+third": Layout.of(2, [(0, 1), (0, 0, 0)]),
    "fourth": Layout.of(2, [(0, 0, 1, 1)]),
}


def _run(model, x, layout, backend):
    """Output rows and the gradients of a loss weighing every row, with the KAN jet node on ``backend``."""
    kan_jet.BACKEND = backend
    try:
        model.zero_grad()
        x = x.clone().requires_grad_(True)
        rows = model.forward_jet(x, layout).rows if layout.keys else model(x).unsqueeze(1)
        w = torch.linspace(0.5, 2.0, rows.shape[1], dtype=rows.dtype)[None, :, None]
        (rows.pow(2) * w).sum().backward()
        return [rows.detach()] + [p.grad.clone() for p in model.parameters()]
    finally:
        kan_jet.BACKEND = "auto"


@pytest.mark.parametrize(
    "widths,k,layout",
    [
        ([2, 5, 3], 3, "laplacian"),
        ([2, 5, 3], 2, "diag"),
        ([2, 3, 1], 4, "fourth"),
        ([2, 5, 3], 3, "mixed+third"),
    ],
)
def test_triton_matches_the_pytorch_node(widths, k, layout):
    torch.manual_seed(1)
    model = KAN(widths, -torch.ones(2), torch.ones(2), grid=6, k=k)
    x = torch.rand(45, 2) * 2.6 - 1.3  # 45: not a multiple of the block; some points outside the grid
    lay = LAYOUTS[layout]
    for a, b in zip(_run(model, x, lay, "triton"), _run(model, x, lay, "torch")):
        assert rel_err(a, b) < 1e-12


def test_one_input_float32_and_the_value_alone():
    torch.manual_seed(2)
    model = KAN([1, 3, 1], -torch.ones(1), torch.ones(1), grid=5).float()
    x = (torch.rand(33, 1) * 2.2 - 1.1).float()
    for lay in (Layout.of(1, [(0, 0, 0)]), Layout(1)):  # Layout(1): value only (boundary and test points)
        for a, b in zip(_run(model, x, lay, "triton"), _run(model, x, lay, "torch")):
            assert rel_err(a.double(), b.double()) < 1e-5


def test_backward_partial_sums_over_programs():
    """Fewer programs than blocks: each program's slice of the coefficient gradient sums several blocks."""
    torch.manual_seed(3)
    layer = KAN([2, 4, 1], -torch.ones(2), torch.ones(2), grid=5).layers[0]
    lay = LAYOUTS["laplacian"]
    rows = torch.randn(100, lay.size, 2)
    rows[:, 0] = torch.rand(100, 2) * 2 - 1
    t0, hs = layer.knots[:, 0], layer.knots[:, 1] - layer.knots[:, 0]
    args = (rows, layer._padded_weight().detach(), layer.base().detach(), t0, hs, layer.grid, layer.k, lay)
    g = torch.randn(100, lay.size, 4)
    one = kan_triton.jet_backward(*args, g, programs=1)
    many = kan_triton.jet_backward(*args, g, programs=3)
    for a, b in zip(one, many):
        assert rel_err(a, b) < 1e-12
    kan_jet.BACKEND = "torch"
    try:
        table = args[1].clone().requires_grad_(True)
        out = kan_jet.KANLayerJet.apply(rows, table, *args[2:])
        (ref,) = torch.autograd.grad((out * g).sum(), table)
    finally:
        kan_jet.BACKEND = "auto"
    assert rel_err(one[1], ref) < 1e-12


def test_double_backward_raises():
    model = KAN([2, 3, 1], -torch.ones(2), torch.ones(2), grid=5)
    x = (torch.rand(8, 2) * 2 - 1).requires_grad_(True)
    kan_jet.BACKEND = "triton"
    try:
        rows = model.forward_jet(x, Layout.standard(2, 1)).rows
        (g,) = torch.autograd.grad(rows.sum(), x, create_graph=True)
        with pytest.raises(RuntimeError):
            g.sum().backward()
    finally:
        kan_jet.BACKEND = "auto"
