"""The Triton kernels of the group-rational jet, run by Triton's interpreter on CPU tensors (TRITON_INTERPRET=1),
against the PyTorch reference ops: rows and every gradient, for uneven groups, channel counts that are not a
multiple of the channel block, a batch that is not a multiple of the point block, both second-order layouts, float32
and float64, several programs summing one gradient, and the double-backward guard. Small sizes: the interpreter is
slow."""

import os

import pytest
import torch

os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are first imported
pytest.importorskip("triton")

from pinnkan.surrogates import RationalKAN, rational_jet, rational_triton  # noqa: E402

from .conftest import rel_err  # noqa: E402


def _run(model, x, order, laplacian, backend):
    """Output rows and the gradients of a loss weighing every row, the rational nodes on ``backend``."""
    rational_jet.BACKEND = backend
    fused = backend != "torch"
    try:
        for layer in model.layers:
            layer.rational.fused = fused
        model.zero_grad()
        x = x.clone().requires_grad_(True)
        rows = model.forward_jet(x, order, laplacian).rows
        w = torch.linspace(0.5, 2.0, rows.shape[1], dtype=rows.dtype)[None, :, None]
        (rows.pow(2) * w).sum().backward()
        return [rows.detach(), x.grad] + [p.grad.clone() for p in model.parameters()]
    finally:
        rational_jet.BACKEND = "auto"
        for layer in model.layers:
            layer.rational.fused = True


def _model(widths, groups, dtype=torch.float64):
    torch.manual_seed(4)
    d = widths[0]
    model = RationalKAN(widths, -torch.ones(d), torch.ones(d), groups=groups).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("order,laplacian", [(1, False), (2, False), (2, True)])
def test_triton_matches_the_reference_ops(order, laplacian):
    model = _model([2, 7, 37, 2], groups=3)  # 3 groups over 7 and 37 channels; 37 > one channel block
    x = torch.rand(45, 2) * 2.4 - 1.2  # 45: not a multiple of the point block
    for a, b in zip(_run(model, x, order, laplacian, "triton"), _run(model, x, order, laplacian, "torch")):
        assert rel_err(a, b) < 1e-12


def test_float32_and_three_dimensions():
    model = _model([3, 5, 1], groups=2, dtype=torch.float32)
    x = (torch.rand(33, 3) * 2 - 1).float()
    for a, b in zip(_run(model, x, 2, True, "triton"), _run(model, x, 2, True, "torch")):
        assert rel_err(a.double(), b.double()) < 1e-5


def test_backward_partial_sums_over_programs():
    """Fewer programs than blocks of points: each program's slice sums several blocks."""
    torch.manual_seed(5)
    rows = torch.randn(100, 4, 6)
    num, den = torch.randn(2, 6), 0.3 * torch.randn(2, 4)
    group_of = torch.tensor([0, 0, 0, 1, 1, 1])
    g = torch.randn(100, 4, 6)
    one = rational_triton.jet_backward(rows, num, den, group_of, 2, True, g, programs=1)
    many = rational_triton.jet_backward(rows, num, den, group_of, 2, True, g, programs=3)
    for a, b in zip(one, many):
        assert rel_err(a, b) < 1e-12


def test_double_backward_raises():
    rational_jet.BACKEND = "triton"
    try:
        rows = torch.randn(8, 4, 3, requires_grad=True)
        num, den = torch.randn(1, 6), 0.3 * torch.randn(1, 4)
        out = rational_jet.RationalJet.apply(rows, num, den, torch.zeros(3, dtype=torch.long), 2, True)
        (g,) = torch.autograd.grad(out.square().sum(), rows, create_graph=True)
        with pytest.raises(RuntimeError):
            g.sum().backward()
    finally:
        rational_jet.BACKEND = "auto"
