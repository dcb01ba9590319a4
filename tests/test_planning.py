"""The planner: signals read from declarations, rules that decide from them, and who wins over whom."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from pinnkan import Box, Dirichlet, Disk, Initial, Periodic, Problem
from pinnkan.config import defaults, problem_default_keys, set_key
from pinnkan.planning import make_plan, read_signals
from pinnkan.registry import builtin_problems
from pinnkan.solve import configure, load_problem

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_FILES = sorted(str(p) for p in (ROOT / "benchmarks").glob("*/*.py"))


class Poisson1D(Problem):
    name = "poisson1d_plan"
    description = "-u'' = pi^2 sin(pi x) on [0, 2]"
    coords = ("x",)
    domain = Box((0.0,), (2.0,))
    conditions = (Dirichlet(value=0.0),)

    def residual(self, x, jet):
        return -jet.dd("x") - math.pi**2 * torch.sin(math.pi * x[:, 0])


class Burgers(Problem):
    name = "burgers_plan"
    description = "u_t + u u_x = 0.01 u_xx, periodic"
    coords = ("x", "t")
    domain = Box((-1.0, 0.0), (1.0, 3.0))
    conditions = (Initial(value=lambda p, x: -torch.sin(math.pi * x[:, :1])), Periodic(coord="x"))

    def residual(self, x, jet):
        return jet.d("t") + jet.val * jet.d("x") - 0.01 * jet.dd("x")


class Holes(Problem):
    name = "holes_plan"
    description = "Laplace on a square with a hole"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0)) - Disk((0.0, 0.0), 0.3, name="hole")
    conditions = (Dirichlet(faces=("x-", "x+", "y-", "y+"), value=1.0), Dirichlet(faces="hole", value=0.0))

    def residual(self, x, jet):
        return jet.lap()


def test_signals_of_a_linear_problem():
    s = read_signals(Poisson1D())
    assert s.linear and s.dim == 1 and s.time is None and s.orders == {"x": 2} and s.max_order == 2
    assert s.domain == "box" and s.hard_bc and s.soft_conditions == ()
    # the forcing pi^2 sin(pi x) has rms pi^2 / sqrt(2) over [0, 2]
    assert s.forcing_scale == pytest.approx(math.pi**2 / math.sqrt(2), rel=0.1)
    assert s.pde_scale >= s.forcing_scale


def test_signals_of_a_nonlinear_periodic_problem():
    s = read_signals(Burgers())
    assert not s.linear and s.time == "t" and s.time_ratio == pytest.approx(1.5)
    assert s.periodic == ("x",) and s.orders == {"x": 2, "t": 1}
    assert s.data_scale == pytest.approx(1 / math.sqrt(2), rel=0.1)
    assert s.half_waves["x"] == pytest.approx(2.0, rel=0.05)  # -sin(pi x) across [-1, 1]
    assert s.hard_bc and s.soft_conditions == ("periodic_x",)


def test_signals_of_a_shape_with_a_hole():
    s = read_signals(Holes())
    assert s.domain == "other" and not s.hard_bc and "box domain" in s.hard_bc_reason
    assert 0.9 < s.fill < 1.0 and s.forcing_scale == 0.0 and s.pde_scale > 0


def plan_of(problem, **sets):
    cfg = defaults()
    for key, value in sets.items():
        set_key(cfg, key.replace("__", "."), value)
    return make_plan(problem, cfg)


def test_plan_decides_every_key_with_a_reason_and_a_known_name():
    plan = plan_of(Burgers())
    known = set(problem_default_keys())
    assert plan.decisions and all(d.reason for d in plan.decisions)
    assert {d.key for d in plan.decisions} <= known
    v = plan.value
    assert v("model") == "chebyshev" and v("hard_bc") is True and v("adaptive") is True
    assert v("optimizer") == "adam+lm" and v("max_time") == 600.0
    assert v("alpha") < 1.0  # the periodic condition stays in the loss beside the PDE
    assert plan_of(Poisson1D()).value("alpha") == 1.0  # every condition imposed


class Wave(Problem):
    name = "wave_plan"
    description = "u_tt = u_xx, at rest at t = 0"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(faces=("x-", "x+"), value=0.0), Initial(value=lambda p, x: torch.sin(math.pi * x[:, :1])))

    def residual(self, x, jet):
        return jet.dd("t") - jet.dd("x")


def test_causal_weights_only_for_problems_first_order_in_time():
    burgers = {d.key: d for d in plan_of(Burgers()).decisions}
    assert burgers["causal"].value > 0 and "first order in time" in burgers["causal"].reason
    assert "causal" not in {d.key for d in plan_of(Wave()).decisions}
    assert "causal" not in {d.key for d in plan_of(Poisson1D()).decisions}


class Transport(Problem):
    name = "transport_plan"
    description = "u_t + beta u_x = 0, periodic"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (2 * math.pi, 1.0))
    conditions = (Initial(value=lambda p, x: torch.sin(x[:, :1])), Periodic(coord="x"))
    params = {"beta": 30.0}

    def residual(self, x, jet):
        return jet.d("t") + self.beta * jet.d("x")


def test_time_windows_only_for_pure_transport_carried_far():
    """Windows grow with the radians the data is carried (beta T / 1 here, read as the PDE's largest term over
    the data's size), capped; a diffusive problem, a wave and a slow transport keep one window."""
    from pinnkan.planning.rules import BUDGET, MAX_WINDOWS, RADIANS_PER_WINDOW, WINDOW_SECONDS

    def windows(problem, **sets):
        return plan_of(problem, **sets).value("windows", 1)

    fast, faster, slow = Transport(beta=30.0), Transport(beta=90.0), Transport(beta=4.0)
    assert 1 < windows(fast) < windows(faster) <= MAX_WINDOWS
    assert windows(Transport(beta=1000.0)) == min(MAX_WINDOWS, BUDGET // WINDOW_SECONDS)
    assert windows(Transport(beta=1000.0), train__max_time=3 * WINDOW_SECONDS) == 3  # each window its minute
    radians = read_signals(fast).pde_scale * 1.0 / read_signals(fast).data_scale  # T = 1
    assert windows(fast) == math.ceil(radians / RADIANS_PER_WINDOW)
    assert windows(slow) == 1 and windows(Burgers()) == 1 and windows(Wave()) == 1
    assert windows(fast, train__steps=100) == 1  # a given schedule trains as it says
    assert windows(fast, train__windows=2) == 2
    assert windows(fast, model__hard_bc=False) == 1  # the start data would be penalised in later windows


def test_no_time_windows_on_several_processes(monkeypatch):
    """Marching runs on one process: a data-parallel run of a transport problem keeps one window."""
    import types

    import pinnkan.planning.signals

    monkeypatch.setattr(pinnkan.planning.signals, "current", lambda: types.SimpleNamespace(size=2, active=True))
    assert read_signals(Transport()).processes == 2
    assert plan_of(Transport()).value("windows", 1) == 1


def test_given_keys_and_problem_defaults_win_and_are_recorded():
    plan = plan_of(Burgers(), model__kind="kan", train__steps=40, data__n_interior=123)
    by_key = {d.key: d for d in plan.decisions}
    assert by_key["model"].source == "given" and by_key["model"].value == "kan"
    assert by_key["n_interior"].source == "given" and by_key["n_interior"].value == 123
    assert "kan_hidden" not in by_key  # another family keeps its own defaults
    assert by_key["adaptive"].value is False and "schedule is given" in by_key["adaptive"].reason

    class Recipe(Burgers):
        defaults = {"alpha": 0.5}

    by_key = {d.key: d for d in plan_of(Recipe()).decisions}
    assert by_key["alpha"].source == "problem" and by_key["alpha"].value == 0.5


def test_plan_reaches_the_resolved_configuration_and_metrics():
    cfg = configure(Burgers(), None, None, {})
    assert cfg["model"]["kind"] == "chebyshev" and cfg["train"]["adaptive"] is True
    assert cfg["train"]["max_time"] == 600.0 and cfg["model"]["hard_bc"] is True
    assert cfg["plan"]["decisions"] and cfg["plan"]["signals"]["dim"] == 2
    off = configure(Burgers(), None, {"train": {"plan": "off"}}, {})
    assert "plan" not in off and off["model"]["kind"] == "kan" and off["train"]["adaptive"] is False


def test_no_rule_reads_a_problem_name():
    """The same declaration under another name gets the same plan."""

    class Renamed(Burgers):
        name = "something_else_entirely"

    a = [(d.key, d.value, d.reason) for d in plan_of(Burgers()).decisions]
    b = [(d.key, d.value, d.reason) for d in plan_of(Renamed()).decisions]
    assert a == b


@pytest.mark.parametrize("name", [*BENCHMARK_FILES, *builtin_problems()])
def test_every_benchmark_and_builtin_problem_plans_and_resolves(name):
    problem = load_problem(name)
    cfg = configure(problem, None, None, {})
    keys = {d["key"] for d in cfg["plan"]["decisions"]}
    assert {"model", "hard_bc", "n_interior", "alpha"} <= keys
    assert cfg["model"]["width"][0] == problem.dim and cfg["model"]["width"][-1] == len(problem.fields)
    if name in builtin_problems():  # the built-ins keep their measured recipes (see each one's comments)
        assert not cfg["train"]["adaptive"]
