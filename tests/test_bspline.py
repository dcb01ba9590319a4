"""B-spline bases: partition of unity, derivatives vs finite differences, closed form vs Cox-de Boor."""

import numpy as np
import pytest
import torch

from pinnkan.bspline import basis, local_basis, local_basis_fn, uniform_knots


def _knots(grid, k, lo=(-1.0, 0.0), hi=(1.0, 3.0)):
    return uniform_knots(grid, k, torch.tensor(lo), torch.tensor(hi))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_partition_of_unity(k):
    knots = _knots(7, k)
    x = torch.rand(2000, 2) * torch.tensor([2.0, 3.0]) + torch.tensor([-1.0, 0.0])
    (b,) = basis(x, knots, k)
    assert b.shape == (2000, 2, 7 + k)
    assert torch.allclose(b.sum(-1), torch.ones(2000, 2), atol=1e-13)
    assert (b >= 0).all()


@pytest.mark.parametrize("k", [2, 3])
def test_derivatives_match_finite_differences(k):
    knots = _knots(6, k)
    # non-uniform knots too: perturb the interior
    bumped = knots.clone()
    bumped[:, k + 1 : -k - 1] += 0.05 * torch.sin(torch.arange(bumped.shape[1] - 2 * k - 2, dtype=torch.float64))
    for kn in (knots, bumped):
        x = torch.rand(500, 2) * torch.tensor([1.8, 2.8]) + torch.tensor([-0.9, 0.1])
        b, b1, b2 = basis(x, kn, k, order=2)
        eps = 1e-5
        bp, bp1 = basis(x + eps, kn, k, order=1)
        bm, bm1 = basis(x - eps, kn, k, order=1)
        fd1 = (bp - bm) / (2 * eps)
        fd2 = (bp1 - bm1) / (2 * eps)
        # away from knots (where B'' of a cubic jumps) the central differences are O(eps^2)
        t = kn.unsqueeze(0)
        far = ((x.unsqueeze(-1) - t).abs().min(-1).values > 2 * eps).unsqueeze(-1)
        assert torch.allclose(b1 * far, fd1 * far, atol=1e-6)
        assert torch.allclose(b2 * far, fd2 * far, atol=1e-4)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_closed_form_matches_cox_de_boor(k):
    grid = 5
    knots = _knots(grid, k)
    x = torch.rand(3000, 2) * 8 - 3  # also well outside the grid
    full = basis(x, knots, k, order=2)
    cell, local = local_basis(x, knots[:, 0], knots[:, 1] - knots[:, 0], grid, k, order=2)
    for j in range(3):
        dense = torch.zeros(3000, 2, grid + 3 * k)
        dense.scatter_add_(-1, cell.unsqueeze(-1) + torch.arange(k + 1), local[j])
        assert torch.allclose(dense[..., k : k + grid + k], full[j], atol=1e-10), j


def test_local_basis_gradient_is_next_derivative():
    knots = _knots(5, 3)
    x = (torch.rand(50, 2) * 1.6 - 0.8).requires_grad_(True)

    def f(x):
        return local_basis_fn(x, knots[:, 0], knots[:, 1] - knots[:, 0], 5, 3, 1)[1][1]

    assert torch.autograd.gradcheck(lambda x: f(x).sum(-1), (x,))


def test_third_derivative_of_cubic_is_piecewise_constant():
    knots = _knots(4, 3, lo=(0.0,), hi=(1.0,))
    x = torch.linspace(0.01, 0.99, 97)[:, None]
    x = x[((x * 4) - (x * 4).round()).abs().squeeze() > 0.02]
    _, vals = local_basis(x, knots[:, 0], knots[:, 1] - knots[:, 0], 4, 3, order=3)
    cell = np.floor(x.numpy()[:, 0] * 4)
    for c in np.unique(cell):
        block = vals[3][torch.as_tensor(cell == c)]
        assert torch.allclose(block, block[:1].expand_as(block), atol=1e-9)
