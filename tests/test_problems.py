"""Every registered problem: its exact solution satisfies its own PDE and conditions."""

import numpy as np
import pytest
import torch

from pinnkan.errors import UserError
from pinnkan.jet import autograd_jet
from pinnkan.problem import validate
from pinnkan.registry import builtin_problems, get_problem, load_problem_file

PROBLEMS = builtin_problems()
EXACT = [n for n, c in PROBLEMS.items() if c().has_exact]


def test_registry_has_the_poisson_pair():
    assert {"poisson", "poisson_sinsin"} <= set(PROBLEMS)
    for cls in PROBLEMS.values():
        assert validate(cls) == [], cls.name


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_residual(name):
    p = PROBLEMS[name]()
    x = torch.as_tensor(p.interior(512, seed=5))
    jet = autograd_jet(p.exact, x, p.order, p.coords, p.fields)
    res = p.residual(x, jet)
    scale = 1 + jet.diag.abs().max() + jet.grad.abs().max()
    assert res.abs().max() < 1e-10 * scale


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_conditions(name):
    p = PROBLEMS[name]()
    for i, cond in enumerate(p.conditions):
        x = torch.as_tensor(cond.points(p, 200, seed=i))
        jet = autograd_jet(p.exact, x, max(cond.order, 1), p.coords, p.fields)
        assert cond.residual(p, x, jet).abs().max() < 1e-10, (name, type(cond).__name__)


def test_poisson_forcing_matches_anchor_formula():
    p = PROBLEMS["poisson"]()
    x = torch.tensor([[0.3, -0.7], [0.5, 0.5]])
    px, y = np.pi * x[:, 0], x[:, 1]
    f = -(np.pi**2) * (1 + 4 * y**2) * torch.sin(px) * torch.sin(np.pi * y**2) + 2 * np.pi * torch.sin(px) * torch.cos(
        np.pi * y**2
    )
    assert torch.allclose(p.forcing(x), f)


def test_boundary_points_lie_on_the_boundary():
    p = PROBLEMS["poisson"]()
    pts = p.conditions[0].points(p, 800, seed=0)
    assert pts.shape == (800, 2)
    assert np.all(np.isclose(np.abs(pts), 1.0).any(axis=1))
    # split evenly over the four edges
    assert np.isclose(pts[:, 0], -1.0).sum() == 200


def test_test_set_is_101_by_101_grid():
    pts = PROBLEMS["poisson"]().test_points()
    assert pts.shape == (101 * 101, 2)
    assert np.unique(pts[:, 0]).size == 101


def test_unknown_problem_and_parameters():
    with pytest.raises(UserError, match="unknown problem 'nope'; known: "):
        get_problem("nope")
    with pytest.raises(ValueError, match="has no parameter"):
        PROBLEMS["poisson"](beta=3.0)


GOOD = """
import torch
from pinnkan import Box, Dirichlet, Problem

class Decay(Problem):
    name = "decay1d"
    description = "u'' = -u on [0, 1]"
    coords = ("x",)
    domain = Box((0.0,), (1.0,))
    conditions = (Dirichlet(faces=("x-", "x+")),)
    params = {"omega": 1.0}

    def residual(self, x, jet):
        return jet.dd("x") + self.omega**2 * jet.val

    def exact(self, x):
        return torch.sin(self.omega * x[:, :1]) + torch.cos(self.omega * x[:, :1])
"""


def test_user_problem_file_loads(tmp_path):
    f = tmp_path / "decay.py"
    f.write_text(GOOD)
    cls = load_problem_file(f)
    p = cls(omega=2.0)
    x = torch.as_tensor(p.interior(64, 0))
    jet = autograd_jet(p.exact, x, 2, p.coords, p.fields)
    assert p.residual(x, jet).abs().max() < 1e-10


@pytest.mark.parametrize(
    "text, message",
    [
        ("raise RuntimeError('boom')", "failed to import: RuntimeError: boom"),
        ("x = 1", "exactly one pinnkan.Problem subclass, found 0"),
        (
            GOOD.replace('    def residual(self, x, jet):\n        return jet.dd("x") + self.omega**2 * jet.val\n', ""),
            "missing residual",
        ),
        (GOOD.replace("    domain = Box((0.0,), (1.0,))\n", ""), "missing domain"),
        (GOOD.replace('    conditions = (Dirichlet(faces=("x-", "x+")),)\n', ""), "missing conditions"),
    ],
)
def test_broken_user_problem_files_are_refused(tmp_path, text, message):
    f = tmp_path / "bad.py"
    f.write_text(text)
    with pytest.raises(UserError, match=message):
        load_problem_file(f)
