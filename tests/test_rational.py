"""Group-rational KAN: the initial fit, derivatives, a smooth second derivative (unlike KAT's
1 + |S| denominator), variance-preserving initialisation, the compiled jet node against the reference ops."""

import numpy as np
import pytest
import torch

from pinnkan.jet import forward_jet
from pinnkan.surrogates import rational_cpu, rational_jet
from pinnkan.surrogates.rational import (
    INITS,
    RationalKAN,
    RationalLayer,
    initial_coefficients,
    rational_derivatives,
    rational_np,
)

from .conftest import rel_err

C2 = ("x", "y")


@pytest.mark.parametrize("name", INITS)
def test_initial_fit_reproduces_the_activation(name):
    a, b = (np.asarray(c) for c in initial_coefficients(name))
    x = np.linspace(-3, 3, 301)
    target = {"identity": x, "silu": x / (1 + np.exp(-x)), "tanh": np.tanh(x)}[name]
    assert np.abs(rational_np(a, b, x) - target).max() < 1e-3
    assert initial_coefficients(name) == initial_coefficients(name)


def test_derivatives_match_autograd_and_finite_differences():
    a, b = torch.randn(3, 6), torch.randn(3, 4)
    x = (torch.rand(200, 3) * 4 - 2).requires_grad_(True)
    r, r1, r2 = rational_derivatives(x, a, b, 2)
    (g,) = torch.autograd.grad(r.sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), x)
    assert rel_err(r1, g) < 1e-12 and rel_err(r2, h) < 1e-11
    eps = 1e-4
    up, dn = (rational_derivatives(x.detach() + s, a, b, 0)[0] for s in (eps, -eps))
    assert torch.allclose((up - dn) / (2 * eps), r1.detach(), atol=1e-6 * float(r1.detach().abs().max()))
    assert torch.allclose((up - 2 * r.detach() + dn) / eps**2, r2.detach(), atol=1e-4 * float(r2.detach().abs().max()))


def test_denominator_is_bounded_below_so_there_are_no_poles():
    b = torch.randn(1000, 4) * 10
    x = torch.linspace(-5, 5, 1001)[:, None]
    s = x * (b[:, 0] + x * (b[:, 1] + x * (b[:, 2] + x * b[:, 3])))
    assert float((1 + s + s * s).min()) >= 0.75 - 1e-12


def _kat(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """KAT's rational with the 1 + |S| denominator, for contrast."""
    p = sum(a[j] * x**j for j in range(6))
    s = sum(b[k - 1] * x**k for k in range(1, 5))
    return p / (1 + s.abs())


def test_second_derivative_is_continuous_where_kats_jumps():
    # S(x) = x - 0.3 changes sign at x0 = 0.3: KAT's R'' jumps there, ours does not
    a = torch.tensor([0.1, 1.0, -0.5, 0.3, 0.2, -0.1])
    b = torch.tensor([1.0, 0.0, 0.0, 0.0])
    shift = torch.tensor(-0.3)

    def ours(x):  # S = x - 0.3 is not of the form sum_k b_k x^k: shift the input instead
        return rational_derivatives((x + shift)[:, None], a[None], b[None], 2)[2][:, 0]

    def kat_second(x):
        x = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(_kat(x + shift, a, b).sum(), x, create_graph=True)
        (h,) = torch.autograd.grad(g.sum(), x)
        return h

    x0 = torch.tensor(0.3)
    deltas = torch.tensor([1e-2, 1e-3, 1e-4, 1e-5])
    jumps = [float((ours((x0 + d)[None]) - ours((x0 - d)[None])).abs()) for d in deltas]
    kat_jumps = [float((kat_second((x0 + d)[None]) - kat_second((x0 - d)[None])).abs()) for d in deltas]
    # ours: the jump vanishes linearly with the distance (slope 1 in log-log); KAT's does not vanish
    slope = np.polyfit(np.log(deltas.numpy()), np.log(jumps), 1)[0]
    assert 0.9 < slope < 1.1 and jumps[-1] < 1e-3
    assert min(kat_jumps) > 0.1


def test_denominator_learns_from_an_identity_start():
    layer = RationalLayer(4, 3, groups=2, init="identity")
    assert float(layer.rational.denominator.detach().abs().max()) == 0.0
    layer(torch.randn(50, 4)).square().sum().backward()
    assert float(layer.rational.denominator.grad.abs().max()) > 0.0


@pytest.mark.parametrize("init", INITS)
def test_initialisation_preserves_variance(init):
    torch.manual_seed(1)
    layer = RationalLayer(512, 512, groups=8, init=init)
    with torch.no_grad():
        y = layer(torch.randn(2000, 512))
    assert 0.8 < float(y.var()) < 1.25


@pytest.mark.parametrize("order,laplacian", [(1, False), (2, False), (2, True)])
def test_compiled_node_matches_reference_ops(box2, order, laplacian):
    if not rational_cpu.AVAILABLE:
        pytest.skip("numba not installed")
    model = RationalKAN([2, 7, 5, 2], *box2, groups=3)  # 3 groups over 7 and 5 channels: uneven
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn_like(p))
    x = torch.rand(97, 2) * 2.4 - 1.2
    results = []
    for fused in (True, False):
        for layer in model.layers:
            layer.rational.fused = fused
        model.zero_grad()
        j = forward_jet(model, x, order, C2, ("u", "v"), laplacian=laplacian)
        loss = j.value.square().sum() + j.grad.pow(3).sum()
        if order == 2:
            loss = loss + (j.laplacian if laplacian else j.diag).square().sum()
        loss.backward()
        rows = model.forward_jet(x, order, laplacian).rows.detach()
        results.append([rows] + [p.grad.clone() for p in model.parameters()])
    for fused, ref in zip(*results):
        assert rel_err(fused, ref) < 1e-12


@pytest.mark.parametrize("laplacian", [False, True])
def test_compiled_node_gradcheck(laplacian):
    if not rational_cpu.AVAILABLE:
        pytest.skip("numba not installed")
    rows = torch.randn(6, 4 if laplacian else 5, 5, requires_grad=True)
    num = torch.randn(2, 6, requires_grad=True)
    den = (0.5 * torch.randn(2, 4)).requires_grad_(True)
    group_of = torch.tensor([0, 0, 0, 1, 1])
    assert torch.autograd.gradcheck(
        lambda r, a, b: rational_jet.RationalJet.apply(r, a, b, group_of, 2, laplacian), (rows, num, den)
    )
