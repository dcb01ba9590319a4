"""Hard Dirichlet constraints (pinnkan.constraint): exact data on the faces, jets by the Leibniz rule."""

from __future__ import annotations

import math

import pytest
import torch

from pinnkan.cli import main
from pinnkan.conditions import Dirichlet, Initial
from pinnkan.constraint import HardDirichlet, function_rows, leibniz_terms
from pinnkan.jet import autograd_jet
from pinnkan.layout import LAP, Layout
from pinnkan.problem import Box, Problem
from pinnkan.registry import builtin_problems
from pinnkan.runfolder import load_run
from pinnkan.surrogates import load_surrogate

from .conftest import build, rel_err, run_cli, surrogate_kinds


def constrained(name: str):
    """(problem, its HardDirichlet) or (problem, None) where the problem has nothing to impose."""
    problem = builtin_problems()[name]()
    try:
        return problem, HardDirichlet(problem)
    except ValueError as exc:
        assert "model.hard_bc" in str(exc)
        return problem, None


HARDENED = [n for n in builtin_problems() if constrained(n)[1] is not None]


def test_most_builtin_problems_can_be_hardened():
    # every box problem with a Dirichlet or initial condition; the polygon, disk and hole problems cannot
    assert {"poisson", "heat", "wave", "burgers", "allen_cahn", "advection", "kovasznay"} <= set(HARDENED)
    assert "poisson_lshape" not in HARDENED and "poisson_disk" not in HARDENED


def test_function_rows_match_autograd():
    f = lambda x: torch.stack([torch.sin(x[:, 0]) * x[:, 1] ** 3, torch.exp(x[:, 0] * x[:, 1])], 1)  # noqa: E731
    x = torch.rand(20, 2)
    layout = Layout.of(2, [(0, 0, 1), (1, 1, 1, 1), LAP])
    got = function_rows(f, x, layout)
    want = autograd_jet(f, x, layout, ("x", "y"), ("a", "b")).rows
    assert rel_err(got, want) < 1e-13


def test_leibniz_coefficients_are_binomials():
    layout = Layout.of(1, [(0, 0, 0, 0)])
    for m, terms in enumerate(leibniz_terms(layout)):
        assert sorted(c for _, _, c in terms) == sorted(float(math.comb(m, j)) for j in range(m + 1))


@pytest.mark.parametrize("name", HARDENED)
def test_constraint_holds_and_jets_agree(name):
    problem, hard = constrained(name)
    lo, hi = problem.domain.bounds()
    x = torch.as_tensor(problem.interior(40, seed=3))
    mixed = [(0, 0, 0)] + ([(0, 1)] if problem.dim > 1 else [])
    for kind in surrogate_kinds():
        model = build(kind, [problem.dim, 4, len(problem.fields)], lo, hi)
        model.constraint = HardDirichlet(problem)
        for layout in (problem.jet_layout(), Layout.of(problem.dim, mixed)):
            forward = model.forward_jet(x, layout).rows
            reference = autograd_jet(model, x, layout, problem.coords, problem.fields).rows
            assert rel_err(forward, reference) < 1e-9, (kind, layout)
        # the imposed conditions hold to rounding whatever the parameters
        for i in hard.conditions:
            cond = problem.conditions[i]
            xc = torch.as_tensor(cond.points(problem, 50, seed=1))
            jet = autograd_jet(model, xc, 0, problem.coords, problem.fields)
            assert cond.residual(problem, xc, jet).abs().max() < 1e-12, (kind, problem.condition_names[i])
    # d vanishes on the faces only
    assert (hard.distance(x) > 0).all()


class Skew(Problem):
    """Data that are no solution of anything (but agree at the corners): g must match them on each face."""

    name = "skew"
    coords = ("x", "y")
    domain = Box((0.0, -1.0), (2.0, 1.0))
    conditions = (
        Dirichlet(faces=("x-", "x+"), value=lambda p, x: torch.cos(x[:, 1]) + x[:, 0] ** 2),
        Dirichlet(faces=("y-",), value=lambda p, x: math.cos(1.0) + x[:, 0] ** 2 - 0.46 * x[:, 0] * (2.0 - x[:, 0])),
    )

    def residual(self, x, jet):
        return jet.lap()


def test_boundary_value_matches_the_data_on_each_face():
    problem = Skew()
    hard = HardDirichlet(problem)
    assert hard.owner == {(0, 0): 0, (0, 1): 0, (1, 0): 1}
    for i, cond in enumerate(problem.conditions):
        xc = torch.as_tensor(cond.points(problem, 200, seed=0))
        want = cond.value(problem, xc)
        assert rel_err(hard.boundary_value(xc)[:, 0], want) < 1e-13, i
        assert hard.distance(xc).abs().max() == 0.0
    # the free face y = 1 is not imposed: d is positive there
    top = torch.tensor([[0.5, 1.0], [1.5, 1.0]])
    assert (hard.distance(top) > 0).all()


class NumpyValue(Skew):
    name = "numpy_value"
    conditions = (Initial(faces=("y-",), value=lambda p, x: x[:, 0].detach().numpy()),)


def test_refusals():
    with pytest.raises(ValueError, match="must return a torch tensor"):
        HardDirichlet(NumpyValue())
    with pytest.raises(ValueError, match="box domain"):
        HardDirichlet(builtin_problems()["poisson_disk"]())
    with pytest.raises(ValueError, match="singular functions"):
        HardDirichlet(builtin_problems()["poisson_lshape"]())


def test_cli_refuses_in_one_line(capsys):
    code, _, err = run_cli(["solve", "poisson_disk", "--set", "model.hard_bc=true", "--steps", "1"], capsys)
    assert code == 2 and "box domain" in err and len(err.strip().splitlines()) == 1


def test_trains_and_reloads(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["solve", "heat", "--set", "model.hard_bc=true", "--optimizer", "adam+lm", "--steps", "3"]
    args += ["--adam-steps", "20", "--grids", "5", "--n-interior", "300", "--n-boundary", "40", "--out", str(out)]
    assert main(args) == 0
    problem, model, cfg = load_run(out)
    assert cfg["model"]["hard_bc"] and model.constraint is not None
    x = torch.as_tensor(problem.interior(30, seed=5))
    # the Dirichlet and initial data hold exactly after training and reloading
    for cond in problem.conditions:
        xc = torch.as_tensor(cond.points(problem, 30, seed=2))
        jet = autograd_jet(model, xc, 0, problem.coords, problem.fields)
        assert cond.residual(problem, xc, jet).abs().max() < 1e-12
    assert torch.isfinite(model(x)).all()
    with pytest.raises(ValueError, match="load it with the problem"):
        load_surrogate(out / "model.pt")
    code, _, err = run_cli(["inspect", str(out)], capsys)
    assert code == 2 and "hard_bc" in err


def _loss(name: str, kind: str = "kan"):
    """A PINNLoss of a hard-constrained model of problem ``name`` on a few points (forward engine)."""
    from pinnkan.training import Collocation
    from pinnkan.training.loss import PINNLoss

    problem = builtin_problems()[name]()
    lo, hi = problem.domain.bounds()
    model = build(kind, [problem.dim, 4, len(problem.fields)], lo, hi)
    model.constraint = HardDirichlet(problem)
    data = {"n_interior": 30, "n_boundary": 12, "n_initial": 12, "sampling": "sobol"}
    points = Collocation.sample(problem, data, 0, torch.float64, "cpu")
    return problem, model, PINNLoss(problem, model, "forward", points, alpha=0.5)


def test_imposed_conditions_leave_the_optimised_loss():
    from pinnkan.training.jacobian import residual_jacobian

    problem, model, loss = _loss("wave")  # Dirichlet and Initial imposed; the initial rate u_t stays soft
    assert loss.imposed == {problem.condition_names[0], problem.condition_names[1]}
    assert loss.trained_names == (problem.condition_names[2],)
    terms = {k: v.detach() for k, v in loss.terms().items()}
    soft = problem.conditions[2].weight * terms[f"{problem.condition_names[2]}_loss"]
    assert rel_err(terms["loss"], 0.5 * terms["pde_loss"] + soft) < 1e-14
    # the imposed terms are logged (and hold), the soft one is not zero
    assert float(terms[f"{problem.condition_names[0]}_loss"]) < 1e-24 and float(soft) > 1e-8
    r, jac = residual_jacobian(loss)
    assert r.shape[0] == 30 + 12 and jac.shape == (r.shape[0], sum(p.numel() for p in model.parameters()))
    assert rel_err(r.square().sum(), terms["loss"]) < 1e-12


def test_balance_refused_when_every_condition_is_imposed(capsys):
    args = ["solve", "poisson", "--set", "model.hard_bc=true", "--set", "train.balance=gradnorm", "--steps", "1"]
    code, _, err = run_cli(args, capsys)
    assert code == 2 and "model.hard_bc imposes" in err and len(err.strip().splitlines()) == 1


def test_balance_and_attention_train_the_soft_terms_only(tmp_path):
    for switch in ("train.balance=gradnorm", "train.rba=true"):
        out = tmp_path / switch
        args = ["solve", "wave", "--model", "kan", "--width", "2,4,1", "--set", "model.hard_bc=true", "--set", switch]
        args += ["--set", "train.balance_every=2", "--optimizer", "adam+lm", "--adam-steps", "6", "--steps", "3"]
        args += ["--grids", "5", "--n-interior", "200", "--n-boundary", "30", "--out", str(out)]
        assert main(args) == 0
        problem, model, _ = load_run(out)
        assert torch.isfinite(model(torch.as_tensor(problem.interior(10, seed=1)))).all()
