"""The matrix-free residual operator against the dense Jacobian, for every surrogate with forward jets and every
kind of condition (with and without adaptive weights); conjugate gradients against a direct solve."""

import pytest
import torch

import pinnkan
from pinnkan.training import Collocation, PINNLoss
from pinnkan.training.jacobian import residual_jacobian
from pinnkan.training.matrixfree import ResidualOperator, conjugate_gradient

from .conftest import rel_err, surrogate_kinds

SMALL = {"n_interior": 40, "n_boundary": 12, "n_initial": 12, "sampling": "sobol"}


def _loss(problem_name: str, kind: str) -> PINNLoss:
    p = pinnkan.load_problem(problem_name)
    width = [len(p.coords), 6, 6, len(p.fields)] if kind == "mlp" else None
    model = pinnkan.make_surrogate(kind, p, width=width)
    with torch.no_grad():
        for q in model.parameters():
            q.add_(0.05 * torch.randn_like(q))
    return PINNLoss(p, model, "forward", Collocation.sample(p, SMALL, 0, torch.float64, "cpu"), 0.1)


def _adaptive(loss: PINNLoss) -> None:
    """Point weights on every term and a scale on one: what the adaptive techniques set."""
    with torch.no_grad():
        loss.terms()
    for key, r in loss.last_residuals.items():
        loss.point_weights[key] = torch.rand(r.shape[0], dtype=r.dtype) + 0.1
    loss.term_scale[loss.term_keys[-1]] = 3.5


# advection: a periodic condition (pairs of points); kovasznay: three fields; wave: a derivative condition
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("problem", ["poisson", "advection", "kovasznay", "wave"])
@pytest.mark.parametrize("kind", surrogate_kinds())
def test_products_match_the_dense_jacobian(problem, kind, weighted):
    loss = _loss(problem, kind)
    if weighted:
        _adaptive(loss)
    r, jac = residual_jacobian(loss)
    op = ResidualOperator(loss)
    theta = op.theta()
    assert theta.shape == (jac.shape[1],)
    r_free = op.linearize(theta)
    assert rel_err(r_free, r) < 1e-12
    assert abs(float(r_free @ r_free) - float(loss.terms()["loss"].detach())) < 1e-12 * float(r @ r)
    gen = torch.Generator().manual_seed(1)
    v = torch.randn(theta.shape, generator=gen, dtype=theta.dtype)
    u = torch.randn(r.shape, generator=gen, dtype=r.dtype)
    assert rel_err(op.matvec(v), jac @ v) < 1e-10
    assert rel_err(op.rmatvec(u), jac.T @ u) < 1e-10
    assert all(getattr(m, "fused", True) for m in loss.model.modules())  # switched back on


def test_products_are_derivatives_by_finite_differences():
    loss = _loss("heat", "kan")
    op = ResidualOperator(loss)
    theta = op.theta()
    op.linearize(theta)
    v = torch.randn_like(theta)
    h = 1e-6
    fd = (op.residual(theta + h * v) - op.residual(theta - h * v)).detach() / (2 * h)
    assert rel_err(op.matvec(v), fd) < 1e-7


def test_conjugate_gradient_solves_a_positive_definite_system():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(30, 30, generator=gen, dtype=torch.float64)
    a = q @ q.T + 0.5 * torch.eye(30, dtype=torch.float64)
    b = torch.randn(30, generator=gen, dtype=torch.float64)
    x, used = conjugate_gradient(lambda v: a @ v, b, iters=200, tol=1e-12)
    assert rel_err(x, torch.linalg.solve(a, b)) < 1e-8 and used <= 200
    # truncated: a few iterations, still a descent direction of 1/2 x^T A x - b^T x
    x3, used3 = conjugate_gradient(lambda v: a @ v, b, iters=3, tol=1e-12)
    assert used3 == 3 and float(b @ x3) > 0 and float(0.5 * x3 @ a @ x3 - b @ x3) < 0
    # the tolerance ends it early; b = 0 takes no iteration
    _, loose = conjugate_gradient(lambda v: a @ v, b, iters=200, tol=0.5)
    assert loose < used
    assert conjugate_gradient(lambda v: a @ v, torch.zeros_like(b), 10, 1e-8)[1] == 0
