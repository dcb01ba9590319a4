"""Scaling sweeps: exponent fits, a tiny sweep end to end, resume after a kill, Ray, plots."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import pinnkan
from pinnkan.cli import main
from pinnkan.sweeps import fit_exponent, plan, select_points

from .conftest import docs_outputs

TINY = """
[sweep]
problem = "poisson_sinsin"
seeds = [0]
[base.data]
n_interior = 200
n_boundary = 40
[base.train]
adam_steps = 3
steps = 3
[base.run]
log_every = 3
[kan]
widths = [[2, 3, 1]]
grids = [3, 5]
[mlp]
depths = [2, 3]
widths = [6]
"""


def test_fit_recovers_known_exponent():
    rng = np.random.default_rng(0)
    n = np.geomspace(1e2, 1e4, 12)
    err = 3.0 * n**-4.0 * np.exp(rng.normal(0, 0.05, n.size))
    fit = fit_exponent(n, err)
    assert abs(fit["exponent"] + 4.0) < 0.1
    lo, hi = fit["ci95"]
    assert lo < -4.0 < hi and hi - lo < 0.3
    exact = fit_exponent(n, 2 * n**-1.5)
    assert abs(exact["exponent"] + 1.5) < 1e-12


def test_point_selection():
    rows = [
        {"params": "10", "mse": "1e-2", "status": "ok"},
        {"params": "10", "mse": "5e-3", "status": "ok"},
        {"params": "20", "mse": "8e-3", "status": "ok"},
        {"params": "30", "mse": "1e-4", "status": "ok"},
        {"params": "40", "mse": "1e-9", "status": "diverged"},
    ]
    assert select_points(rows, "mse", "all") == [(10, 5e-3), (10, 1e-2), (20, 8e-3), (30, 1e-4)]
    assert select_points(rows, "mse", "best") == [(10, 5e-3), (20, 8e-3), (30, 1e-4)]
    assert select_points(rows, "mse", "frontier") == [(10, 5e-3), (30, 1e-4)]


def test_plan_checks_the_config(tmp_path):
    from pinnkan.errors import UserError

    assert len(plan({"sweep": {"problem": "poisson"}, "kan": {"widths": [[2, 5, 1]], "grids": [3, 5]}})) == 1
    with pytest.raises(UserError, match="unknown section"):
        plan({"sweep": {"problem": "poisson"}, "cnn": {}})
    with pytest.raises(UserError, match="kan width"):
        plan({"sweep": {"problem": "poisson"}, "kan": {"widths": [[3, 5, 1]], "grids": [3]}})
    with pytest.raises(UserError, match="mlp.depths"):
        plan({"sweep": {"problem": "poisson"}, "mlp": {"depths": [0], "widths": [5]}})


def _rows(out: Path):
    with (out / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_tiny_sweep_end_to_end_and_plots(tmp_path, capsys):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "sweep"
    assert main(["sweep", str(cfg), "--out", str(out)]) == 0
    rows = _rows(out)
    assert [r["family"] for r in rows] == ["kan", "kan", "mlp", "mlp"]
    assert [r["grid"] for r in rows[:2]] == ["3", "5"]
    k = pinnkan.load_problem("poisson_sinsin").defaults["kan_k"]  # the problem's spline order (5)
    assert [int(r["params"]) for r in rows] == [9 * (3 + k + 2), 9 * (5 + k + 2), 25, 67]  # 9 edges x (G + k + 2)
    assert all(r["status"] == "ok" for r in rows)
    fits = json.loads((out / "fits.json").read_text())
    assert set(fits) == {"kan", "mlp", "ladders"} and fits["kan"]["mse"]["n"] == 2
    assert (out / "scaling.png").stat().st_size > 0 and (out / "grid_extension.png").stat().st_size > 0
    (out / "scaling.png").unlink()
    assert main(["plot", str(out)]) == 0
    assert (out / "scaling.png").exists()
    runs = sorted((out / "runs").iterdir())[:2]
    target = tmp_path / "overlay.png"
    assert main(["plot", *map(str, runs), "--out", str(target)]) == 0
    assert target.stat().st_size > 0
    assert main(["plot", str(tmp_path / "nothing")]) == 2

    # the results page the docs keep, written from the folder (scripts/docs_outputs.py sweep)
    gen = docs_outputs()
    gen.RESULTS = tmp_path / "results"
    gen.sweep(str(out), "tiny")
    page = (tmp_path / "results" / "tiny.md").read_text()
    assert "Produced by `python scripts/docs_outputs.py sweep" in page and "commit" in page
    assert page.count("| kan | [") == 2 and page.count("| mlp | [") == 2 and "**Headline.** best kan" in page
    assert "(tiny/scaling.png)" in page and (tmp_path / "results" / "tiny" / "scaling.png").is_file()


@pytest.mark.slow
def test_resume_after_kill_skips_finished_points(tmp_path):
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY.replace("widths = [6]", "widths = [6, 7, 8, 9]"))
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "pinnkan", "sweep", str(cfg), "--out", str(out)]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, env={**os.environ, "PINNKAN_NO_PROGRESS": "1"})
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "runs").glob("*/metrics.json"))) < 2:
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*/metrics.json")}
    assert 2 <= len(finished) < 9
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PINNKAN_NO_PROGRESS": "1"})
    assert done.returncode == 0, done.stderr
    assert f"{len(finished)} already complete" in done.stderr
    for name, mtime in finished.items():
        assert (out / "runs" / name / "metrics.json").stat().st_mtime_ns == mtime
    rows = _rows(out)
    assert len(rows) == 2 + 8 and all(r["status"] == "ok" for r in rows)
    # a killed run leaves at most its hidden staging folder, never a half-written run folder
    assert all((p / "metrics.json").exists() for p in (out / "runs").iterdir() if not p.name.startswith("."))


@pytest.mark.slow
def test_ray_executor_with_two_cpus(tmp_path):
    pytest.importorskip("ray")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = tmp_path / "sweep"
    assert main(["sweep", str(cfg), "--out", str(out), "--workers", "2", "--executor", "ray"]) == 0
    rows = _rows(out)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)


def test_failed_point_is_recorded_and_sweep_goes_on(tmp_path, monkeypatch):
    from pinnkan.sweeps import executors, run_sweep

    real = executors.execute

    def flaky(run, out, threads):
        if run["id"].startswith("mlp-d3"):
            return {"id": run["id"], "ok": False, "error": "RuntimeError: boom", "trace": ""}
        return real(run, out, threads)

    monkeypatch.setattr(executors, "execute", flaky)
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(TINY)
    out = run_sweep(str(cfg), str(tmp_path / "s"), echo=False)
    rows = _rows(out)
    status = {r["width"]: r["status"] for r in rows if r["family"] == "mlp"}
    assert status == {"[2,6,1]": "ok", "[2,6,6,1]": "failed: RuntimeError: boom"}


def test_ladder_fits_are_per_width():
    from pinnkan.sweeps import fit_all

    rows = [
        {
            "family": "kan",
            "width": w,
            "grid": str(g),
            "params": str(p),
            "mse": str(c * p**-4.0),
            "status": "ok",
            "rel_l2": "1",
            "h1_mse": "1",
            "rel_h1": "1",
        }
        for w, c in (("[2,5,1]", 1.0), ("[2,9,1]", 50.0))
        for g, p in ((5, 100), (10, 200), (20, 400))
    ]
    fits = fit_all(rows)
    for w in ("[2,5,1]", "[2,9,1]"):
        assert abs(fits["ladders"]["kan"][w]["mse"]["exponent"] + 4.0) < 1e-9


def test_sweep_points_do_not_scout_restarts_unless_asked():
    """A sweep compares sizes at one training budget: small points get no extra starts by default."""
    from pinnkan.sweeps.spec import plan

    spec = {"sweep": {"problem": "poisson"}, "kan": {"widths": [[2, 1, 1]], "grids": [3]}}
    assert all(r["cfg"]["train"]["restarts"] == 1 for r in plan(spec))
    spec["base"] = {"train": {"restarts": 4}}
    assert all(r["cfg"]["train"]["restarts"] == 4 for r in plan(spec))


CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_every_shipped_sweep_config_plans(path):
    from pinnkan.config import load_toml

    spec = load_toml(str(path))
    if "sweep" not in spec:
        pytest.skip("a run configuration, not a sweep")
    runs = plan(spec)
    assert runs and len({r["id"] for r in runs}) == len(runs)
