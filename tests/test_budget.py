"""Budgeted training: rounds that end on a plateau, growth that keeps the function, the best state kept."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import pinnkan
from pinnkan import Box, Dirichlet, Initial, Periodic, Problem
from pinnkan.training.budget import grow_points
from pinnkan.training.loss import Collocation

from .conftest import build, surrogate_kinds


class Bump(Problem):
    name = "bump_budget"
    description = "-u'' = f on [0, 1], u = sin(3 pi x) x"
    coords = ("x",)
    domain = Box((0.0,), (1.0,))
    conditions = (Dirichlet(),)

    def residual(self, x, jet):
        z = x[:, 0]
        w = 3 * math.pi
        u_xx = -(w**2) * torch.sin(w * z) * z + 2 * w * torch.cos(w * z)
        return jet.dd("x") - u_xx

    def exact(self, x):
        return torch.sin(3 * math.pi * x[:, :1]) * x[:, :1]


SMALL = {"n_interior": 200, "n_boundary": 2, "adam_steps": 20, "progress": False, "log_every": 5}


def test_rounds_grow_the_model_and_keep_the_best_state():
    # rounds of at most 6 lm steps (the cap ends them before a plateau), three rounds
    sol = pinnkan.solve(
        Bump(), config={"train": {"rounds": 3}}, optimizer="adam+lm", steps=6, max_time=0, adaptive=True, **SMALL
    )
    report = sol.reports["adaptive"]
    assert [r["round"] for r in report["rounds"]] == [0, 1, 2]
    assert any("grew degree 5 -> 7" in r for r in sol.stop_reasons)
    best = min(report["rounds"], key=lambda r: r["check_loss"])
    assert report["best_round"] == best["round"]
    assert report["outcome"] in ("budget", "stalled", "converged")
    # the returned surrogate is the best round's, and its errors are what the solution reports
    assert sol.errors["rel_l2"] == pytest.approx(sol.tracker(sol.model, sol.engine)["rel_l2"], rel=1e-12)
    assert sol.model.n_params == best["params"]


def test_a_plateau_ends_a_round():
    sol = pinnkan.solve(
        Bump(),
        config={"train": {"rounds": 2, "plateau_steps": 2, "plateau_gain": 1e6}},
        optimizer="adam+lm",
        steps=50,
        max_time=0,
        adaptive=True,
        **SMALL,
    )
    assert any("plateau: 2 steps lowered the loss less than 1e+06x" in r for r in sol.stop_reasons)
    assert sol.reports["adaptive"]["rounds"][0]["step"] < 20 + 50


class Wave(Problem):
    name = "periodic_budget"
    description = "advection, periodic"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Periodic(coord="x"), Initial(value=0.0))

    def residual(self, x, jet):
        return jet.d("t") + jet.d("x")


def test_growing_points_keeps_the_coupled_blocks_of_a_periodic_condition():
    p = Wave()
    data = {"n_interior": 8, "n_boundary": 4, "n_initial": 4, "sampling": "sobol"}
    pts = Collocation.sample(p, data, 0, torch.float64, "cpu")
    grown = grow_points(p, pts, data, seed=5)
    assert grown.interior.shape == (16, 2) and torch.equal(grown.interior[:8], pts.interior)
    periodic = grown.conditions[0]
    assert periodic.shape == (16, 2)
    lo, hi = periodic.chunk(2)
    assert torch.all(lo[:, 0] == 0.0) and torch.all(hi[:, 0] == 1.0) and torch.equal(lo[:, 1], hi[:, 1])


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_growth_keeps_the_function(kind):
    lo, hi = np.array([-1.0, 0.0]), np.array([1.0, 2.0])
    model = build(kind, [2, 6, 6, 1], lo, hi)
    x = torch.rand(300, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 2 - torch.tensor([1.0, 0])
    before = model(x).detach()
    expected = model.grown_params()
    what = model.grow(x)
    if what is None:
        assert expected is None
        return
    assert model.n_params == expected
    tol = 1e-4 if kind == "kan" else 1e-12  # grid extension refits by least squares; the others are exact
    assert float((model(x) - before).abs().max()) <= tol * float(before.abs().max())


@pytest.mark.parametrize(
    "rel, drift, trusted", [(1e-3, None, True), (1e-3, 0.05, True), (1e-3, 0.5, False), (0.05, 0.01, False)]
)
def test_trust_needs_a_small_residual_and_a_small_drift_over_the_horizon(rel, drift, trusted):
    """A residual of 1e-3 of its scale is trusted unless, integrated over the time span, it could move the
    solution by more than 10 % (the bound of a stable linear evolution)."""
    from pinnkan.training.budget import BudgetedTraining

    budget = BudgetedTraining({})
    budget.rounds = [{"round": 0, "relative_residual": rel, "drift_bound": drift}]
    budget.best = {"round": 0, "check_loss": 1.0}
    assert budget.report()["trusted"] is trusted


def test_drift_bound_is_the_time_span_times_the_residual_over_the_data():
    from types import SimpleNamespace

    from pinnkan.training.budget import BudgetedTraining

    problem = SimpleNamespace(time="t", coords=("x", "t"))
    signals = {"extents": [1.0, 5.0], "data_scale": 0.5, "pde_scale": 2.0}
    state = SimpleNamespace(problem=problem, config={"plan": {"signals": signals}})
    assert BudgetedTraining({}).drift_bound(state, {"pde_loss": 1e-4}) == pytest.approx(5.0 * 1e-2 / 0.5)
    state.problem = SimpleNamespace(time=None, coords=("x", "y"))
    assert BudgetedTraining({}).drift_bound(state, {"pde_loss": 1e-4}) is None


def test_a_growth_that_did_not_pay_is_followed_by_the_other_and_both_in_vain_stall(monkeypatch):
    """A model growth that did not lower the check loss 1.5x is followed by more points (not by more of the
    same, as it was), and a second round that does not pay stalls the run."""
    from types import SimpleNamespace

    from pinnkan.training.budget import BudgetedTraining

    budget = BudgetedTraining({})
    budget.best = {"check_loss": 1.0, "round": 0, "model": None}
    budget.check_loss = lambda state: {"loss": 1.0, "pde_loss": 1.0}  # no round pays
    budget.relative_residual = lambda state, terms: 0.5
    budget.drift_bound = lambda state, terms: None
    model = SimpleNamespace(n_params=100, grown_params=lambda: 140)
    points = SimpleNamespace(interior=torch.zeros(1000, 2))
    state = SimpleNamespace(
        stage=1, step=10, train_s=1.0, model=model, loss=SimpleNamespace(points=points),
        terms={"loss": 1.0, "pde_loss": 1.0}, stop_run=False, stop_reasons=[], config={"train": {"max_time": 0}},
    )  # fmt: skip
    budget.grew = "model"
    budget.on_stage_end(state)
    assert (budget.pending, budget.tried, state.stop_run) == ("points", ["model"], False)
    state.stage, budget.grew, budget.pending = 2, "points", None
    budget.on_stage_end(state)
    assert budget.pending is None and state.stop_run and budget.outcome == "stalled"
    assert "grown: model, points" in state.stop_reasons[-1]
    # a round that pays clears what was tried: the model may grow again
    monkeypatch.setattr("pinnkan.surrogates.surrogate_blob", lambda model: None)
    budget = BudgetedTraining({})
    budget.best, budget.tried, budget.unpaid = {"check_loss": 10.0, "round": 0}, ["model"], 1
    budget.check_loss = lambda state: {"loss": 1.0, "pde_loss": 1.0}
    budget.relative_residual = lambda state, terms: 0.5
    budget.drift_bound = lambda state, terms: None
    budget.on_stage_end(SimpleNamespace(**{**vars(state), "stop_run": False}))
    assert (budget.tried, budget.unpaid, budget.pending) == ([], 0, "model")
