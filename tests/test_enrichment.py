"""Corner singular functions: closed-form partials, boundary behaviour, enriched surrogates end to end."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnkan
from pinnkan.domains import Polygon
from pinnkan.enrichment import CornerSingularity, Enrichment, from_spec
from pinnkan.jet import autograd_jet
from pinnkan.layout import LAP, Layout
from pinnkan.metrics import error_metrics
from pinnkan.surrogates import surrogate_blob, surrogate_from_blob
from pinnkan.training import Collocation, PINNLoss
from pinnkan.training.jacobian import residual_jacobian

from .conftest import build, rel_err, surrogate_kinds

ALL_TO_FOURTH = Layout.of(2, [(0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 1, 1, 1), (1, 1, 1, 1), LAP])
WEDGES = [
    CornerSingularity((0.0, 0.0), 0.0, 1.5 * math.pi),  # the L-shape's corner
    CornerSingularity((0.3, -0.2), 0.7, 1.8 * math.pi, terms=3),
    CornerSingularity((0.1, 0.4), -2.0, 1.2 * math.pi, kind="neumann"),
]


def _points_in(f: CornerSingularity, n: int, seed: int = 0) -> torch.Tensor:
    """n points inside the wedge, at distances 0.05..1 from the tip."""
    g = torch.Generator().manual_seed(seed)
    r = 0.05 + 0.95 * torch.rand(n, generator=g)
    theta = f.start + f.angle * (0.02 + 0.96 * torch.rand(n, generator=g))
    return torch.stack([f.vertex[0] + r * torch.cos(theta), f.vertex[1] + r * torch.sin(theta)], dim=1)


@pytest.mark.parametrize("f", WEDGES)
def test_partials_to_fourth_order_match_nested_autograd(f):
    x = _points_in(f, 40)
    closed = f.basis(x, ALL_TO_FOURTH)  # (N, S, terms)
    for j in range(f.terms):
        ref = autograd_jet(lambda z, j=j: f.basis(z, Layout(2))[:, 0, j : j + 1], x, ALL_TO_FOURTH, ("x", "y"), ("u",))
        for row, key in enumerate(ALL_TO_FOURTH.keys, start=1):
            want = ref.partial(key)[:, 0].detach()
            scale = max(1.0, float(want.abs().max()))  # the Laplacian is zero: compare on the rows' scale
            assert float((closed[:, row, j] - want).abs().max()) < 1e-10 * scale, (key, j)


@pytest.mark.parametrize("f", WEDGES)
def test_harmonic_and_zero_or_flat_on_both_edges(f):
    x = _points_in(f, 40)
    rows = f.basis(x, ALL_TO_FOURTH)
    keys = ALL_TO_FOURTH.keys
    xx, yy = rows[:, 1 + keys.index((0, 0))], rows[:, 1 + keys.index((1, 1))]
    assert float((xx + yy).abs().max()) < 1e-9 * float(xx.abs().max())
    assert float(rows[:, 1 + keys.index(LAP)].abs().max()) == 0.0
    r = torch.linspace(0.1, 1.0, 7)
    for edge in (f.start, f.start + f.angle):
        d = torch.tensor([math.cos(edge), math.sin(edge)])
        on = torch.tensor(f.vertex) + r[:, None] * d
        b = f.basis(on, Layout.of(2, [(0,), (1,)]))
        if f.kind == "dirichlet":
            assert float(b[:, 0].abs().max()) < 1e-12
        else:  # the normal derivative: the gradient is along the edge
            normal = torch.tensor([-d[1], d[0]])
            assert float((b[:, 1] * normal[0] + b[:, 2] * normal[1]).abs().max()) < 1e-12
        assert float(b[:, 0].abs().max() if f.kind == "neumann" else b[:, 1:].abs().max()) > 0.1  # not all zero


def test_exponents_and_the_tip():
    """At the tip the value is 0 and a partial of order n is NaN exactly where n > a (infinite there)."""
    f = CornerSingularity((0.0, 0.0), 0.0, 1.5 * math.pi, terms=3)
    assert np.allclose(f.exponents, [2 / 3, 4 / 3, 2])
    orders = [0] + [2 if k == LAP else len(k) for k in ALL_TO_FOURTH.keys]
    for dtype in (torch.float32, torch.float64):
        at = f.basis(torch.zeros(1, 2, dtype=dtype), ALL_TO_FOURTH)[0]  # (S, terms)
        near = f.basis(torch.tensor([[1e-3, 1e-3]], dtype=dtype), ALL_TO_FOURTH)[0]
        assert torch.isfinite(near).all() and float(at[0].abs().max()) == 0.0
        for row, n in enumerate(orders):
            for j, a in enumerate(f.exponents):
                infinite = row > 0 and ALL_TO_FOURTH.keys[row - 1] != LAP and n > a and a != round(a)
                assert bool(torch.isnan(at[row, j])) == infinite, (row, j)
    with pytest.raises(ValueError, match="kind"):
        CornerSingularity((0.0, 0.0), 0.0, 4.0, kind="robin")
    with pytest.raises(ValueError, match="angle"):
        CornerSingularity((0.0, 0.0), 0.0, 7.0)


def test_polygon_finds_its_reentrant_corners_in_either_orientation():
    lshape = ((-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1))
    for vertices in (lshape, lshape[::-1]):
        (c,) = Polygon(vertices).corner_singularities()
        assert c.vertex == (0.0, 0.0) and math.isclose(c.angle, 1.5 * math.pi) and math.isclose(c.start, 0.0)
    assert Polygon(((0, 0), (1, 0), (1, 1), (0, 1))).corner_singularities() == ()
    # a U: two re-entrant corners, each 3 pi / 2
    u = Polygon(((0, 0), (3, 0), (3, 2), (2, 2), (2, 1), (1, 1), (1, 2), (0, 2)))
    corners = u.corner_singularities()
    assert sorted(c.vertex for c in corners) == [(1.0, 1.0), (2.0, 1.0)]
    assert all(math.isclose(c.angle, 1.5 * math.pi) for c in corners)
    for c in corners:  # the wedge's inside is the polygon's inside
        probe = _points_in(c, 20, seed=1) * 0.3 + torch.tensor(c.vertex) * 0.7
        assert bool(u.contains(probe.numpy()).all())


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_enriched_surrogate_forward_jet_matches_autograd(kind):
    lo, hi = torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])
    model = build(kind, [2, 4, 1] if kind != "mlp" else [2, 8, 8, 1], lo, hi)
    model.enrichment = Enrichment([WEDGES[0]], 1).double()
    with torch.no_grad():
        model.enrichment.coef.copy_(torch.tensor([[0.7, -0.3]]))
    x = _points_in(WEDGES[0], 30)
    layout = Layout.of(2, [(0, 0), (0, 1), (1, 1), LAP])
    fwd = model.forward_jet(x, layout).to_jet(("x", "y"), ("u",))
    ref = autograd_jet(model, x, layout, ("x", "y"), ("u",))
    assert rel_err(fwd.value, ref.value) < 1e-12
    for key in layout.keys:
        want = ref.partial(key).detach()
        assert float((fwd.partial(key).detach() - want).abs().max()) < 1e-9 * max(1.0, float(want.abs().max())), key
    # saved and loaded with the model
    again = surrogate_from_blob(surrogate_blob(model))
    assert torch.equal(again(x), model(x)) and again.enrichment.spec() == model.enrichment.spec()
    assert from_spec(model.enrichment.spec()).coef.shape == (1, 2)


def test_the_gauss_newton_jacobian_has_the_coefficients_columns():
    p = pinnkan.load_problem("poisson_lshape")
    model = pinnkan.make_surrogate("kan", p, width=[2, 3, 1])
    model.enrichment = Enrichment(p.enrichment, 1).double()
    pts = Collocation.sample(p, {"n_interior": 30, "n_boundary": 12, "sampling": "sobol"}, 0, torch.float64, "cpu")
    loss = PINNLoss(p, model, "forward", pts, 0.01)
    r, jac = residual_jacobian(loss, chunk=16)
    model.zero_grad()
    terms = loss.terms()
    terms["loss"].backward()
    grad = torch.cat([q.grad.reshape(-1) for q in model.parameters()])
    assert rel_err(2 * jac.T @ r, grad) < 1e-10
    # the singular functions are harmonic: their columns are zero on the PDE rows, not on the boundary rows
    cols = jac[:, -2:]
    n_pde = pts.interior.shape[0]
    assert float(cols[:n_pde].abs().max()) < 1e-10 and float(cols[n_pde:].abs().max()) > 1e-3


def test_the_h1_error_leaves_out_the_tip():
    p = pinnkan.load_problem("poisson_lshape")
    x, u, grad = p.reference_test_set()
    tip = np.linalg.norm(x, axis=1) == 0
    assert tip.sum() == 1 and np.isnan(grad[tip]).all() and np.isfinite(grad[~tip]).all()
    pred, gpred = torch.as_tensor(u), torch.as_tensor(np.nan_to_num(grad, nan=1e13))  # huge at the tip
    figures = error_metrics(pred, gpred, torch.as_tensor(u), torch.as_tensor(grad))
    assert float(figures["rel_h1"]) == 0.0 and float(figures["rel_l2"]) == 0.0
