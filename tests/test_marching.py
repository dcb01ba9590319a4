"""Time-marching (pinnkan.marching): windows trained in order, one piecewise solution, its run folder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import pinnkan
from pinnkan.cli import main
from pinnkan.marching import combined_report
from pinnkan.surrogates.piecewise import PiecewiseInTime

# the built-in heat problem, small and short: seconds per window
SMALL = dict(
    model="chebyshev", width=[2, 8, 1], optimizer="adam+lm", adam_steps=20, steps=60, n_interior=600,
    n_boundary=60, log_every=20, plan="off", hard_bc=True,
)  # fmt: skip


@pytest.fixture(scope="module")
def marched():
    return pinnkan.solve("heat", windows=2, **SMALL)


def test_the_windows_make_one_piecewise_solution_measured_on_the_whole_problem(marched):
    sol = marched
    assert isinstance(sol.model, PiecewiseInTime) and len(sol.model.pieces) == 2
    assert sol.model.edges == [0.0, 0.5, 1.0]
    assert sol.status == "ok" and sol.steps == sum(w["steps"] for w in sol.reports["windows"])
    assert [row["window"] for row in sol.history][0] == 0 and sol.history[-1]["window"] == 1
    steps = [row["step"] for row in sol.history]
    assert steps == sorted(steps)  # the windows' steps follow on
    x = sol.problem.test_points()
    err = np.linalg.norm(sol(x) - sol.problem.exact(torch.as_tensor(x)).numpy()) / np.linalg.norm(
        sol.problem.exact(torch.as_tensor(x)).numpy()
    )
    assert sol.errors["rel_l2"] == pytest.approx(err, rel=1e-6)  # measured on the whole interval, not a window's
    assert sol.errors["rel_l2"] < 1e-4


def test_the_second_window_starts_from_the_first_ones_solution(marched):
    """At t = 0.5 the two pieces agree to about the accuracy each reached (the continued initial data)."""
    first, second = marched.model.pieces
    x = torch.stack([torch.linspace(0, 1, 101), torch.full((101,), 0.5)], 1)
    with torch.no_grad():
        gap = float((first(x) - second(x)).abs().max())  # measured: 2.5e-5 of the scale
        scale = float(marched.problem.exact(x).abs().max())
    assert gap < 1e-3 * scale


def test_marching_costs_little_accuracy_on_a_smooth_problem_one_window_solves(marched):
    """Each window's error is the next one's initial error: on the smooth heat problem, where one window is
    already accurate, two lose at most a small factor (measured: 5.3e-6 in one window, 8.4e-6 in two)."""
    one = pinnkan.solve("heat", windows=1, **SMALL)
    assert marched.errors["rel_l2"] < 3 * one.errors["rel_l2"]


def test_the_windows_report_combines_outcomes_and_trust():
    a = {"outcome": "stalled", "relative_residual": 1e-3, "drift_bound": 0.06, "trusted": True}
    b = {"outcome": "converged", "relative_residual": 2e-3, "drift_bound": 0.06, "trusted": True}
    both = combined_report([a, b])
    assert both["outcome"] == "stalled" and both["relative_residual"] == 2e-3
    assert both["drift_bound"] == pytest.approx(0.12) and not both["trusted"]  # the drifts add up past 10 %
    assert combined_report([{**a, "outcome": None}]) is None


def test_a_marched_run_folder_evaluates_and_reports_its_windows(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["solve", "heat", "--model", "chebyshev", "--width", "2,6,1", "--optimizer", "adam+lm", "--adam-steps",
            "10", "--steps", "20", "--n-interior", "300", "--n-boundary", "40", "--set", "train.windows=2",
            "--set", "train.plan=off", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert [w["interval"] for w in m["windows"]] == [[0.0, 0.5], [0.5, 1.0]]
    assert m["spec"]["windows"] == [0.0, 0.5, 1.0] and not (out / "checkpoint.pt").exists()
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert "window" in header
    capsys.readouterr()
    assert main(["eval", str(out), "--grid", "5", "--out", str(tmp_path / "u.csv")]) == 0
    rows = (tmp_path / "u.csv").read_text().splitlines()
    assert len(rows) == 26


@pytest.mark.parametrize(
    "args, message",
    [
        (["poisson", "--set", "train.windows=2"], "no time coordinate"),
        (["heat_inverse", "--set", "train.windows=2"], "unknown parameters"),
        (["heat", "--windows", "2", "--data", "OBS"], "observations"),
    ],
)
def test_problems_that_cannot_march_are_one_line_exit_2(tmp_path, capsys, args, message):
    (tmp_path / "obs.csv").write_text("x,t,u\n0.5,0.5,0.1\n")
    args = [a.replace("OBS", str(tmp_path / "obs.csv")) for a in args]
    assert main(["solve", *args, "--steps", "1", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_interpretation_refuses_a_marched_model_in_one_line():
    from pinnkan.errors import UserError
    from pinnkan.interpret.edges import require_kan
    from pinnkan.solve import make_surrogate

    p = pinnkan.load_problem("heat")
    pieces = [make_surrogate("kan", p, width=[2, 3, 1]) for _ in range(2)]
    with pytest.raises(UserError, match="one per time window"):
        require_kan(PiecewiseInTime(pieces, [0.0, 0.5, 1.0], 1), "pinnkan inspect")
