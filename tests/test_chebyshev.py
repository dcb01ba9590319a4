"""Chebyshev KAN: the basis and its derivatives, the fused layer jet (compiled and PyTorch) against
the reference ops, layer normalisation's jet, float32."""

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev as npcheb

from pinnkan.jet import autograd_jet, forward_jet
from pinnkan.surrogates import chebyshev_jet
from pinnkan.surrogates.chebyshev import ChebyshevKAN
from pinnkan.surrogates.chebyshev_basis import chebyshev_basis, edge_basis
from pinnkan.surrogates.chebyshev_jet import ChebyshevLayerJet

from .conftest import rel_err

C2 = ("x", "y")


@pytest.mark.parametrize("degree", [0, 1, 2, 5, 9])
def test_basis_and_derivatives_match_numpy_including_the_ends(degree):
    t = torch.linspace(-1, 1, 41)  # the ends included: the recurrence has no trouble there
    b = chebyshev_basis(t, degree, 3)
    for n in range(degree + 1):
        c = np.zeros(degree + 1)
        c[n] = 1
        for j in range(4):
            ref = npcheb.chebval(t.numpy(), npcheb.chebder(c, j) if j else c)
            assert np.allclose(b[j][:, n].numpy(), ref, atol=1e-10 * max(1, np.abs(ref).max()))
    assert torch.isfinite(torch.stack(b)).all()


def test_edge_basis_is_the_chain_rule_through_tanh():
    h = (torch.rand(30) * 6 - 3).requires_grad_(True)
    b = edge_basis(h, 4, 3)
    for n in range(5):
        f = b[0][:, n]
        for j in range(1, 4):
            (f,) = torch.autograd.grad(f.sum(), h, create_graph=True)
            assert torch.allclose(f, b[j][:, n], atol=1e-12)


def _loss(model, x, order, laplacian):
    j = forward_jet(model, x, order, C2, ("u", "v"), laplacian=laplacian)
    loss = j.value.square().sum() + j.grad.pow(3).sum()
    if order == 2:
        loss = loss + (j.laplacian if laplacian else j.diag).square().sum()
    return loss


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("order,laplacian", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("norm", ["none", "layer"])
def test_fused_layer_matches_reference_ops(box2, monkeypatch, backend, order, laplacian, norm):
    # widths 7 and 5 take the row-basis (matmul) path, the 2-output layer the narrow kernel
    monkeypatch.setattr(chebyshev_jet, "BACKEND", backend)
    model = ChebyshevKAN([2, 7, 5, 2], *box2, degree=4, norm=norm)
    x = torch.rand(97, 2) * 2.4 - 1.2
    results = []
    for fused in (True, False):
        for layer in model.layers:
            layer.fused = fused
        model.zero_grad()
        loss = _loss(model, x, order, laplacian)
        loss.backward()
        rows = model.forward_jet(x, order, laplacian).rows.detach()
        results.append([rows] + [p.grad.clone() for p in model.parameters()])
    for fused, ref in zip(*results):
        assert rel_err(fused, ref) < 1e-12


@pytest.mark.parametrize("norm", ["none", "layer"])
@pytest.mark.parametrize("laplacian", [False, True])
def test_layer_norm_jet_matches_autograd(box2, norm, laplacian):
    model = ChebyshevKAN([2, 6, 6, 1], *box2, degree=3, norm=norm)
    x = torch.rand(64, 2) * 2 - 1
    a = autograd_jet(model, x, 2, C2, ("u",), laplacian=laplacian)
    f = forward_jet(model, x, 2, C2, ("u",), laplacian=laplacian)
    for part in ("value", "grad", "diag", "laplacian"):
        if getattr(a, part) is not None:
            assert rel_err(getattr(f, part), getattr(a, part)) < 1e-11, part


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("n_out", [2, 6])  # narrow kernel, row-basis path
def test_layer_jet_gradcheck(monkeypatch, backend, n_out):
    monkeypatch.setattr(chebyshev_jet, "BACKEND", backend)
    rows = torch.randn(5, 4, 3, requires_grad=True)  # D = 2 with a Laplacian row
    coef = torch.randn(n_out, 3, 4, requires_grad=True)
    assert torch.autograd.gradcheck(lambda r, c: ChebyshevLayerJet.apply(r, c, 2, 2, True), (rows, coef))
    rows = torch.randn(5, 5, 3, requires_grad=True)  # D = 2 with diagonal rows
    assert torch.autograd.gradcheck(lambda r, c: ChebyshevLayerJet.apply(r, c, 2, 2, False), (rows, coef))


def test_float32_forward_matches_float64_autograd(box2):
    model = ChebyshevKAN([2, 12, 12, 1], *box2)
    x = torch.rand(300, 2) * 2 - 1
    ref = autograd_jet(model, x, 2, C2, ("u",))
    model.float()
    j = forward_jet(model, x.float(), 2, C2, ("u",))
    for part in ("value", "grad", "diag"):
        assert rel_err(getattr(j, part).double(), getattr(ref, part)) < 1e-5, part


def test_initial_outputs_keep_unit_scale(box2):
    # std 1 / sqrt(in (degree + 1)) per coefficient: outputs of order one at any width and degree
    for width, degree in [(8, 3), (64, 8)]:
        model = ChebyshevKAN([2, width, width, 1], *box2, degree=degree)
        with torch.no_grad():
            y = model.layers[1](torch.randn(4000, width))
        assert 0.2 < float(y.std()) < 2.0
