"""pinnkan inspect / prune / symbolic from the command line, and their user errors (one line, exit 2)."""

from __future__ import annotations

import json

import pytest

from pinnkan.cli import main

from .conftest import run_cli as run

TINY = ["--n-interior", "300", "--n-boundary", "60", "--steps", "3", "--adam-steps", "20", "--grids", "5"]


@pytest.fixture(scope="module")
def kan_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "kan"
    assert (
        main(["solve", "poisson_sinsin", "--width", "2,3,1", *TINY, "--set", "train.restarts=1", "--out", str(out)])
        == 0
    )
    return out


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "mlp"
    argv = ["solve", "poisson_sinsin", "--model", "mlp", "--width", "2,4,1", *TINY[:6], "--out", str(out)]
    assert main(argv) == 0
    return out


def test_inspect_draws_every_edge(kan_run, capsys, tmp_path):
    fig = tmp_path / "net.svg"
    code, out, err = run(["inspect", str(kan_run), "--out", str(fig)], capsys)
    assert code == 0, err
    assert "9 edges drawn" in out and fig.stat().st_size > 0  # [2,3,1]: 6 + 3 edges
    assert out.count("layer ") == 2


def test_prune_writes_a_new_run_with_before_and_after(kan_run, capsys, tmp_path):
    out = tmp_path / "pruned"
    code, _, err = run(["prune", str(kan_run), "--threshold", "0", "--steps", "2", "--out", str(out)], capsys)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    p = m["pruning"]
    assert p["widths_after"] == [2, 3, 1] and p["edges_after"] == 9 and p["fine_tune_steps"] == 2
    assert p["rel_l2_pruned"] == pytest.approx(p["rel_l2_before"])  # threshold 0 removes nothing
    assert "edges; rel_l2" in err


def test_symbolic_prints_and_writes_the_formula(kan_run, capsys, tmp_path):
    out = tmp_path / "sym"
    argv = ["symbolic", str(kan_run), "--library", "x,x^2,sin,sin(x**2)", "--steps", "2", "--out", str(out)]
    code, stdout, err = run([*argv, "--expect", "sin(pi*x)*sin(pi*y)"], capsys)
    assert code == 0, err
    assert "u = " in stdout and "rel_l2" in stdout and "sympy:" in stdout
    assert {p.name for p in out.iterdir()} == {"formula.txt", "formula.tex", "symbolic.json"}
    report = json.loads((out / "symbolic.json").read_text())
    assert len(report["edges"]) == 9 and "equal_to_expected" in report


@pytest.mark.parametrize(
    "argv, message",
    [
        (["inspect", "{mlp}"], "needs a B-spline KAN"),
        (["symbolic", "{mlp}"], "needs a B-spline KAN"),
        (["prune", "{mlp}"], "needs a B-spline KAN"),
        (["inspect", "{tmp}"], "not a finished run folder"),
        (["inspect", "{kan}", "--out", "{tmp}/net.txt"], ".png, .pdf or .svg"),
        (["symbolic", "{kan}", "--library", ","], "library is empty"),
        (["symbolic", "{kan}", "--library", "sin,sinh"], "unknown symbolic function"),
        (["symbolic", "{kan}", "--fix", "0,9,0=x"], "no such edge"),
        (["symbolic", "{kan}", "--fix", "0,0=x"], "LAYER,IN,OUT"),
        (["symbolic", "{kan}", "--expect", "sin(("], "not a formula"),
        (["prune", "{kan}", "--threshold", "1e9"], "prunes every node"),
        (["prune", "{kan}", "--steps", "0"], "--steps must be >= 1"),
    ],
)
def test_user_errors(kan_run, mlp_run, capsys, tmp_path, argv, message):
    argv = [a.format(kan=kan_run, mlp=mlp_run, tmp=tmp_path) for a in argv]
    code, _, err = run([*argv, "--out", str(tmp_path / "x")] if "--out" not in argv else argv, capsys)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.partial").exists()


@pytest.mark.slow
def test_poisson_sinsin_pipeline_recovers_the_closed_form(tmp_path, capsys):
    """The README's pipeline: solve with the default schedule (restarts scout 16 starts), then symbolic."""
    run_dir = tmp_path / "sinsin"
    code, _, err = run(["solve", "poisson_sinsin", "--width", "2,2,1", "--out", str(run_dir)], capsys)
    assert code == 0, err
    code, out, err = run(["symbolic", str(run_dir), "--expect", "sin(pi*x)*sin(pi*y)"], capsys)
    assert code == 0, err
    assert "sympy: equal to sin(pi*x)*sin(pi*y)" in out
    report = json.loads((run_dir / "symbolic" / "symbolic.json").read_text())
    assert report["errors"]["rel_l2"] < 1e-10 and report["equal_to_expected"]


@pytest.mark.slow
def test_paper_poisson_pipeline_recovers_the_closed_form(tmp_path, capsys):
    """The README's second pipeline: the paper's sin(pi x) sin(pi y^2), quintic splines to G = 40, and a library
    with the composite sin(x**2) for the y-edges. The README's solve scouts 16 starts and picks init seed 7
    (its config.json says so); the test starts there directly (the scouting itself: test_restarts.py)."""
    run_dir = tmp_path / "paper"
    argv = ["solve", "poisson", "--width", "2,2,1", "--k", "5", "--grids", "5,10,20,40", "--out", str(run_dir)]
    argv += ["--set", "train.restarts=1", "--set", "run.init_seed=7"]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    expect = "sin(pi*x)*sin(pi*y**2)"
    argv = ["symbolic", str(run_dir), "--library", "0,x,x^2,x^3,exp,sin,cos,tanh,sin(x**2)", "--expect", expect]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert f"sympy: equal to {expect}" in out
