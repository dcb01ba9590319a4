"""Every registered problem: its exact solution satisfies its own PDE and conditions."""

import numpy as np
import pytest
import torch

from pinnkan.errors import UserError
from pinnkan.jet import autograd_jet
from pinnkan.problem import validate
from pinnkan.registry import builtin_problems, get_problem, load_problem_file

from .conftest import build, surrogate_kinds

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
    # with the partials the residual was recorded to need, and no others
    jet = autograd_jet(p.exact, x, p.jet_layout(), p.coords, p.fields)
    res = p.residual(x, jet)
    scale = 1 + jet.rows[:, 1:].abs().max()
    assert res.abs().max() < 1e-10 * scale


@pytest.mark.parametrize("name", EXACT)
def test_exact_solution_satisfies_conditions(name):
    p = PROBLEMS[name]()
    for i, cond in enumerate(p.conditions):
        x = torch.as_tensor(cond.points(p, 200, seed=i))
        jet = autograd_jet(p.exact, x, p.condition_layout(i), p.coords, p.fields)
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
        (GOOD.replace("    domain = Box", '    hessian = "trace"\n    domain = Box'), "hessian one of diag, laplacian"),
    ],
)
def test_broken_user_problem_files_are_refused(tmp_path, text, message):
    f = tmp_path / "bad.py"
    f.write_text(text)
    with pytest.raises(UserError, match=message):
        load_problem_file(f)


def test_burgers_reference_matches_basdevant_slope_and_hermite():
    from pinnkan.problems.burgers import cole_hopf

    nu = 0.01 / np.pi
    xs = np.linspace(-1, 1, 64)
    for t in (0.1, 0.5, 1.0):
        trap = cole_hopf(xs, t, nu, 4000)
        assert np.abs(trap - cole_hopf(xs, t, nu, 8000)).max() < 1e-12  # converged in the node count
        assert np.abs(trap - cole_hopf(xs, t, nu, 1000, "hermite")).max() < 1e-10  # independent quadrature
    # Basdevant et al. (1986): the steepest slope, at x = 0, t = 1.6037/pi, is -152.00516
    e = 1e-7
    u = cole_hopf(np.array([-e, e]), 1.6037 / np.pi, nu)
    assert abs((u[1] - u[0]) / (2 * e) + 152.00516) < 1e-3


def test_allen_cahn_reference_converges_at_second_order():
    from pinnkan.problems.allen_cahn import method_of_lines

    times = np.array([0.0, 0.5, 1.0])
    sols = {n: method_of_lines(n, 0.001, 5.0, times)[1] for n in (200, 400, 800, 1600)}
    # compare on the common 201-point grid
    diffs = [np.abs(sols[n][:: n // 200] - sols[2 * n][:: 2 * n // 200]).max() for n in (200, 400, 800)]
    slope = np.polyfit(np.log([200, 400, 800]), np.log(diffs), 1)[0]
    assert -2.4 < slope < -1.6, (diffs, slope)
    assert diffs[-1] < 1e-3


@pytest.mark.parametrize("name", [n for n, c in PROBLEMS.items() if not c().has_exact])
def test_reference_problems_meet_their_conditions(name, tmp_path, monkeypatch):
    from pinnkan.conditions import evaluate_value

    monkeypatch.setenv("PINNKAN_CACHE", str(tmp_path))
    p = PROBLEMS[name]()
    x, u, grad = p.reference_test_set()
    assert x.shape[0] == u.shape[0] == grad.shape[0] and np.isfinite(u).all() and p.domain.contains(x).all()
    xt = torch.as_tensor(x)
    on_boundary = p.domain.signed_distance(xt).abs() < 1e-12
    for cond in p.conditions:
        if not hasattr(cond, "value"):  # periodic: no target value (the grid closes the period)
            continue
        pts = torch.as_tensor(cond.points(p, 50, 0))
        # reference values on the condition's part of the grid: the start time, the spatial faces of a
        # space-time box, all of the boundary of a steady problem
        if cond.kind == "ic":
            face = torch.isclose(xt[:, -1], pts[0, -1])
        elif p.time is not None:
            face = torch.isclose(xt[:, 0].abs(), torch.tensor(1.0))
        else:
            face = on_boundary
        assert face.sum() > 10
        ref = torch.as_tensor(u)[face]
        want = evaluate_value(cond.value, p, xt[face], ref)
        assert torch.allclose(ref, want, atol=1e-6), name
        assert evaluate_value(cond.value, p, pts, torch.zeros(50, 1)).shape == (50, 1)


def test_kdv_reference_converges_at_fourth_order_in_time():
    """ETDRK4's error at t = 0.5 against a 16x finer step falls as dt^4 (fitted slope), spectrally resolved in x."""
    from pinnkan.problems.kdv import etdrk4_kdv

    xs = -1 + 2 * np.arange(128) / 128
    u0 = np.cos(np.pi * xs)
    fine = etdrk4_kdv(u0, 0.0025, np.array([0.5]), 1.25e-4)[0]
    steps = [4e-3, 2e-3, 1e-3, 5e-4]
    errs = [np.abs(etdrk4_kdv(u0, 0.0025, np.array([0.5]), dt)[0] - fine).max() for dt in steps]
    slope = np.polyfit(np.log(steps), np.log(errs), 1)[0]
    assert 3.5 < slope < 4.5, (errs, slope)
    # 256 modes agree with 128 at their common points: the solution is resolved in x
    x2 = -1 + 2 * np.arange(256) / 256
    assert np.abs(etdrk4_kdv(np.cos(np.pi * x2), 0.0025, np.array([0.5]), 5e-4)[0][::2] - fine).max() < 1e-6


def test_kdv_reference_solves_its_pde():
    """The time derivative of the computed solution (central differences) is -u u_x - nu u_xxx (spectral)."""
    from pinnkan.problems.kdv import etdrk4_kdv, spectral_derivative

    xs = -1 + 2 * np.arange(256) / 256
    dt, delta = 2.5e-4, 1e-3
    u = etdrk4_kdv(np.cos(np.pi * xs), 0.0025, np.array([0.5 - delta, 0.5, 0.5 + delta]), dt)
    ut = (u[2] - u[0]) / (2 * delta)
    rhs = -u[1] * spectral_derivative(u[1], 1) - 0.0025 * spectral_derivative(u[1], 3)
    assert np.abs(ut - rhs).max() < 1e-3 * np.abs(rhs).max()
    assert abs(u[1].mean()) < 1e-12 and abs((u[1] ** 2).mean() - 0.5) < 1e-8  # mass and energy conserved


def test_lshape_five_point_scheme_converges_at_the_corner_order():
    """The five-point solutions' L2 differences on the common grid fall as h^(4/3) (the r^(2/3) corner), and
    Richardson's step for that order leaves differences that fall faster."""
    from pinnkan.problems.shapes import L_ORDER, lshape_five_point

    sols = {n: lshape_five_point(n)[1] for n in (32, 64, 128, 256)}
    diffs = [np.sqrt(np.mean((sols[n] - sols[2 * n][::2, ::2]) ** 2)) for n in (32, 64, 128)]
    slope = np.polyfit(np.log([32, 64, 128]), np.log(diffs), 1)[0]
    assert -L_ORDER - 0.15 < slope < -L_ORDER + 0.15, (diffs, slope)
    better = {n: sols[n][::2, ::2] + (sols[n][::2, ::2] - sols[n // 2]) / (2**L_ORDER - 1) for n in (64, 128, 256)}
    rich = [np.sqrt(np.mean((better[n] - better[2 * n][::2, ::2]) ** 2)) for n in (64, 128)]
    assert rich[1] < diffs[2] / 5 and rich[1] < rich[0] / 2.5, (rich, diffs)


def test_reference_cache_is_reused_and_recomputed_when_corrupt(tmp_path, monkeypatch):
    from pinnkan.cache import cached

    monkeypatch.setenv("PINNKAN_CACHE", str(tmp_path))
    calls = []

    def compute():
        calls.append(1)
        return {"u": np.arange(4.0)}

    assert cached("k", compute)["u"].tolist() == [0, 1, 2, 3]
    assert cached("k", compute)["u"].tolist() == [0, 1, 2, 3] and len(calls) == 1
    (tmp_path / "k.npz").write_bytes(b"garbage")
    assert cached("k", compute)["u"].tolist() == [0, 1, 2, 3] and len(calls) == 2


@pytest.mark.parametrize("kind", surrogate_kinds())
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_operator_forward_matches_autograd(name, kind):
    """The residual of a random surrogate through the forward jet equals the one through nested autograd."""
    from pinnkan.jet import compute_jet

    p = PROBLEMS[name]()
    model = build(kind, [p.dim, 6, 6, len(p.fields)], *p.domain.bounds())
    x = torch.as_tensor(p.interior(128, seed=3))
    layout = p.jet_layout()
    res = {e: p.residual(x, compute_jet(e, model, x, layout, p.coords, p.fields)) for e in ("forward", "autograd")}
    scale = float(res["autograd"].detach().abs().max())
    assert torch.allclose(res["forward"], res["autograd"], rtol=1e-10, atol=1e-10 * scale)


@pytest.mark.parametrize("kind", surrogate_kinds())
@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_every_problem_passes_the_checks_before_training(name, kind):
    """The one-line checks run before training accept every built-in problem (periodic pairs included)."""
    from pinnkan.solve import make_surrogate
    from pinnkan.validation import check_problem

    p = PROBLEMS[name]()
    model = make_surrogate(kind, p, [p.dim, 4, len(p.fields)])  # the problem's own model settings (kan_k)
    check_problem(p, model, "forward")
    check_problem(p, model, "autograd")


def test_every_package_directory_is_installed():
    """pyproject's explicit package list names every package of pinnkan (a plain ``pip install .`` ships only
    those)."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "pinnkan").rglob("__init__.py")}
    assert found <= listed, sorted(found - listed)
