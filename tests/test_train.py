"""Training from parts: the loop, its stopping rules, callbacks, phases and the loss terms by name."""

import math

import pytest
import torch

import pinnkan
from pinnkan.training import PHASES, Callback, Phase, PINNLoss, register_phase

TINY = {"n_interior": 64, "n_boundary": 16, "progress": False, "log_every": 1}


def _solve(*callbacks, **settings):
    return pinnkan.solve("poisson_sinsin", "kan", callbacks=callbacks, width=[2, 3, 1], **{**TINY, **settings})


def test_tolerance_stops_a_converging_phase_after_five_flat_steps():
    # every change is "below" a tolerance of 10: the 5th flat step in a row (phase step 6) ends the phase
    s = _solve(optimizer="lbfgs", steps=50, grids=[3, 4], tolerance=10.0)
    assert s.stop_reasons == [
        "lbfgs G=3: loss change below tolerance 10 for 5 steps (step 6)",
        "lbfgs G=4: loss change below tolerance 10 for 5 steps (step 6)",
    ]
    assert s.steps == 12 and s.status == "ok"
    # Adam does not converge in that sense: the same tolerance does not stop it
    assert _solve(optimizer="adam", steps=8, grids=[3], tolerance=10.0).steps == 8


def test_time_budget_ends_the_run():
    s = _solve(steps=20, adam_steps=5, grids=[3, 4], max_time=1e-9)
    assert s.steps == 1 and s.status == "ok"
    assert s.stop_reasons == ["adam G=3: time budget 1e-09s reached"]
    assert s.history[-1]["step"] == 1  # the stopping step is logged


class Poison(Callback):
    """Sets a coefficient to NaN after step ``at``: the next loss is not finite."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step_end(self, state) -> None:
        if state.step == self.at:
            with torch.no_grad():
                state.model.layers[0].spline_weight[0, 0, 0] = math.nan


def test_non_finite_loss_is_divergence():
    s = _solve(Poison(at=3), optimizer="adam", steps=20, grids=[3, 4])
    assert s.status == "diverged" and s.steps == 4
    assert s.stop_reasons == ["adam G=3: non-finite pde_loss at step 4"]
    assert math.isnan(s.history[-1]["loss"]) and s.history[-1]["step"] == 4
    # the model is back at its last good state, and the errors are that state's
    assert all(bool(torch.isfinite(p).all()) for p in s.model.parameters())
    assert math.isfinite(s.errors["rel_l2"])


def test_a_loss_far_above_its_best_is_divergence():
    s = _solve(optimizer="adam", lr=1e30, steps=20, grids=[3])
    assert s.status == "diverged" and "above 1e+08 x its best" in s.stop_reasons[-1]
    assert math.isfinite(s.errors["rel_l2"]) and s.steps < 20


class Interrupt(Callback):
    def on_step_end(self, state) -> None:
        if state.step == 3:
            raise KeyboardInterrupt


def test_interrupt_keeps_what_was_trained():
    s = _solve(Interrupt(), optimizer="adam", steps=20, grids=[3], log_every=10)
    assert s.status == "interrupted" and s.steps == 3
    assert s.stop_reasons == ["interrupted at step 3"]
    assert s.history[-1]["phase"] == "interrupted" and s.history[-1]["step"] == 3
    assert math.isfinite(s.errors["rel_l2"])


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda state: self.calls.append((name, state.phase if "phase" in name else state.stage))
        return object.__getattribute__(self, name)


def test_callbacks_run_in_order():
    rec = Recorder()
    _solve(rec, optimizer="adam+lbfgs", adam_steps=1, steps=2, grids=[3, 4])
    step = ("on_step_end",)
    names = [c[0] for c in rec.calls]
    assert names == [
        "on_train_start",
        "on_stage_start",
        "on_phase_start",
        *step,
        "on_phase_end",
        "on_phase_start",
        *step * 2,
        "on_phase_end",
        "on_stage_end",
        "on_stage_start",
        "on_phase_start",
        *step * 2,
        "on_phase_end",
        "on_stage_end",
        "on_train_end",
    ]
    phases = [c[1] for c in rec.calls if c[0] == "on_phase_start"]
    assert phases == ["adam G=3", "lbfgs G=3", "lbfgs G=4"]


class GradientDescent(Phase):
    """Plain gradient descent at a fixed rate: an optimizer phase in ten lines."""

    name = "gd"

    def step(self):
        self.closure()()
        with torch.no_grad():
            for p in self.params:
                p -= 0.05 * p.grad
        return self.last_terms


def test_a_registered_phase_is_an_optimizer(monkeypatch):
    monkeypatch.setitem(PHASES, "gd", GradientDescent)
    s = _solve(optimizer="gd", steps=30, grids=[3])
    losses = [row["loss"] for row in s.history]
    assert s.stop_reasons == ["gd G=3: 30 steps done"] and losses[-1] < losses[0]
    monkeypatch.delitem(PHASES, "gd")
    with pytest.raises(pinnkan.UserError, match="phases: adam, lbfgs"):
        _solve(optimizer="gd")


def test_register_phase_refuses_a_nameless_class():
    with pytest.raises(ValueError, match="non-empty name"):
        register_phase(type("Nameless", (Phase,), {"step": lambda self: {}}))


def test_condition_terms_by_name_sum_to_their_groups():
    problem = pinnkan.load_problem("wave")
    assert problem.condition_names == ("dirichlet", "initial", "derivative_t")
    model = pinnkan.make_surrogate("kan", problem, width=[2, 3, 1], grid=4)
    from pinnkan.training import Collocation

    points = Collocation.sample(
        problem, {"n_interior": 50, "n_boundary": 20, "n_initial": 20, "sampling": "sobol"}, 0, torch.float64, "cpu"
    )
    t = PINNLoss(problem, model, "forward", points, alpha=0.3).terms()
    assert torch.allclose(t["bc_loss"], t["dirichlet_loss"])
    assert torch.allclose(t["ic_loss"], t["initial_loss"] + t["derivative_t_loss"])
    assert torch.allclose(t["loss"], 0.3 * t["pde_loss"] + t["bc_loss"] + t["ic_loss"])
    s = pinnkan.solve(problem, model, steps=2, adam_steps=1, **TINY)
    assert {"dirichlet_loss", "initial_loss", "derivative_t_loss", "bc_loss", "ic_loss"} <= set(s.history[-1])
