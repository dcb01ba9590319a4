"""The residual Jacobian of Gauss-Newton training: the batched path, and the split path for residuals that take
autograd derivatives of their own (which cannot run inside vmap)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pinnkan import Box, Dirichlet, Problem
from pinnkan.solve import configure, data_term, load_problem, prepare
from pinnkan.training.jacobian import residual_jacobian
from pinnkan.training.loss import Collocation, PINNLoss

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    (str(ROOT / "benchmarks/dev/burgers.py"), True),  # a hard constraint's rows handed in
    (str(ROOT / "benchmarks/dev/kovasznay.py"), False),  # three fields, per-field conditions
    (str(ROOT / "benchmarks/dev/schrodinger.py"), True),  # a periodic condition couples pairs of points
    ("burgers_inverse", False),  # an unknown parameter read by the residual directly
]


def loss_of(name: str, hard: bool, n: int = 40) -> PINNLoss:
    problem = load_problem(name)
    sizes = {"n_interior": n, "n_boundary": 8, "n_initial": 8, "restarts": 1, "hard_bc": hard}
    cfg = configure(problem, None, None, sizes)
    model, engine = prepare(problem, cfg["model"]["kind"], cfg)
    points = Collocation.sample(problem, cfg["data"], 0, torch.float64, "cpu")
    return PINNLoss(problem, model, engine, points, cfg["train"]["alpha"], data_term(problem, cfg))


@pytest.mark.parametrize("name, hard", CASES)
def test_split_path_equals_the_batched_path(name, hard):
    loss = loss_of(name, hard)
    r1, j1 = residual_jacobian(loss)
    loss.split_terms = {"pde", *loss.problem.condition_names}
    r2, j2 = residual_jacobian(loss)
    assert torch.allclose(r1, r2, rtol=0, atol=1e-13 * float(r1.abs().max()))
    assert float((j1 - j2).abs().max()) <= 1e-12 * float(j1.abs().max())


class AutogradForcing(Problem):
    """-u'' = f with f = -g'' of g = sin(3x) taken by autograd inside the residual (as people write it)."""

    name = "autograd_forcing"
    description = "a forcing made by autograd"
    coords = ("x",)
    domain = Box((0.0,), (1.0,))
    conditions = (Dirichlet(value=0.0),)

    def residual(self, x, jet):
        z = x.detach().requires_grad_(True)
        with torch.enable_grad():
            g = torch.sin(3 * z[:, 0])
            (dg,) = torch.autograd.grad(g.sum(), z, create_graph=True)
            (d2g,) = torch.autograd.grad(dg[:, 0].sum(), z)
        return -jet.dd("x") * (1 + jet.val**2) + d2g[:, 0]


def test_a_residual_with_its_own_autograd_uses_the_split_path_and_matches_finite_differences():
    problem = AutogradForcing()
    cfg = configure(problem, "chebyshev", None, {"n_interior": 12, "n_boundary": 2, "restarts": 1, "width": [1, 4, 1]})
    model, engine = prepare(problem, "chebyshev", cfg)
    points = Collocation.sample(problem, cfg["data"], 0, torch.float64, "cpu")
    loss = PINNLoss(problem, model, engine, points, cfg["train"]["alpha"])
    r, jac = residual_jacobian(loss)
    assert loss.split_terms == {"pde"}
    params = [q for q in model.parameters() if q.requires_grad]
    flat = torch.cat([q.detach().reshape(-1) for q in params])
    h = 1e-6
    for j in (0, 7, len(flat) - 1):
        cols = []
        for sign in (1, -1):
            shifted = flat.clone()
            shifted[j] += sign * h
            at = 0
            with torch.no_grad():
                for q in params:
                    q.copy_(shifted[at : at + q.numel()].view_as(q))
                    at += q.numel()
            cols.append(residual_jacobian(loss)[0])
        fd = (cols[0] - cols[1]) / (2 * h)
        assert float((fd - jac[:, j]).abs().max()) <= 1e-6 * max(1.0, float(jac[:, j].abs().max()))
