"""Data-parallel training (pinnkan.distributed): two CPU processes give the one-process run, to rounding."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
import torch

from pinnkan.cli import main
from pinnkan.distributed import Comm

from .conftest import fail_checkpoint_write
from .conftest import run_cli as run

HEAT = """
import math
import torch
from pinnkan import Box, Initial, Periodic, PointSet, Problem

class PeriodicHeat(Problem):
    name = "periodic_heat"
    description = "u_t = 0.1 u_xx, periodic in x, a gauge inside"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 0.5))
    conditions = (Initial(), Periodic(coord="x"), PointSet(at=[(0.25, 0.25)], name="gauge"))

    def residual(self, x, jet):
        return jet.d("t") - 0.1 * jet.dd("x")

    def exact(self, x):
        return torch.exp(-0.4 * math.pi**2 * x[:, 1:2]) * torch.sin(2 * math.pi * x[:, 0:1])
"""

SMALL = ["--model", "chebyshev", "--width", "2,4,1", "--n-interior", "203", "--n-boundary", "37", "--log-every", "1"]
SMALL += ["--set", "data.n_initial=41", "--set", "model.hard_bc=false", "--set", "train.causal=0.05"]
SMALL += ["--set", "train.max_time=0", "--set", "train.restarts=1"]


def test_shares_cover_every_row_once_and_keep_pairs_together():
    for n in (0, 1, 5, 8):
        rows = [list(range(n))[Comm(r, 3).share(n)] for r in range(3)]
        assert sum(rows, []) == list(range(n))
    x = torch.arange(10.0)[:, None]  # 2 blocks of 5 coupled rows: pair i is (x[i], x[5 + i])
    parts = [Comm(r, 2).rows(x, coupled=2)[:, 0].tolist() for r in range(2)]
    assert parts == [[0.0, 1.0, 2.0, 5.0, 6.0, 7.0], [3.0, 4.0, 8.0, 9.0]]


def two_processes(argv: list[str], out) -> subprocess.CompletedProcess:
    """``pinnkan ARGV --out OUT --nproc 2`` in a fresh interpreter, one thread per process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PINNKAN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "pinnkan", *argv, "--out", str(out), "--nproc", "2"]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def _history(out) -> list[dict]:
    return list(csv.DictReader((out / "history.csv").open()))


@pytest.mark.parametrize("optimizer", ["adam+lm", "lbfgs+lm_cg"])
def test_two_processes_equal_one(tmp_path, capsys, optimizer):
    """Every phase (adam, lbfgs, lm, lm_cg) with causal weights, a periodic condition (pairs split across the
    processes) and a one-point gauge (on one process only): the same losses at every step, the same stop
    reasons; rank 0 alone writes the run folder.

    Conjugate gradients truncated at 50 iterations on an ill-conditioned system turn a 1e-15 change of the
    right-hand side (another order of summation) into 1e-6 of the step, on one process as on two; at 5
    iterations the step follows the arithmetic to rounding, which is what is compared here."""
    f = tmp_path / "heat.py"
    f.write_text(HEAT)
    argv = ["solve", str(f), *SMALL, "--optimizer", optimizer, "--adam-steps", "3", "--steps", "4"]
    argv += ["--set", "train.lm_cg_iters=5"]
    code, _, err = run([*argv, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    done = two_processes(argv, tmp_path / "two")
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("plan: surrogate") == 1  # rank 0 alone reports
    one, two = _history(tmp_path / "one"), _history(tmp_path / "two")
    assert len(one) == len(two) > 5 and [r["phase"] for r in one] == [r["phase"] for r in two]
    for a, b in zip(one, two):
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-10, abs=1e-300), (a, b)
    m1 = json.loads((tmp_path / "one" / "metrics.json").read_text())
    m2 = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert m1["stop_reasons"] == m2["stop_reasons"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heat.py", "one", "two"]  # nothing else written


@pytest.mark.parametrize(
    "technique", [["--set", "train.rba=true", "--set", "train.causal=0"], ["--set", "train.balance=gradnorm"]]
)
def test_techniques_that_reduce_equal_one_process(tmp_path, capsys, technique):
    """Residual-based attention (multipliers gathered whole) and gradient balancing (each term's gradient
    summed before its norm): the two-process run's losses are the one-process run's."""
    f = tmp_path / "heat.py"
    f.write_text(HEAT)
    argv = ["solve", str(f), *SMALL, *technique, "--optimizer", "adam+lm", "--adam-steps", "3", "--steps", "3"]
    argv += ["--set", "train.balance_every=2"]
    code, _, err = run([*argv, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    done = two_processes(argv, tmp_path / "two")
    assert done.returncode == 0, done.stderr
    one, two = _history(tmp_path / "one"), _history(tmp_path / "two")
    assert len(one) == len(two) > 4
    for a, b in zip(one, two):
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-10, abs=1e-300), (a, b)


def test_one_process_techniques_are_refused_in_one_line(tmp_path):
    f = tmp_path / "heat.py"
    f.write_text(HEAT)
    argv = ["solve", str(f), *SMALL, "--set", "train.adaptive=true", "--steps", "2"]
    done = two_processes(argv, tmp_path / "o")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "runs on one process only" in done.stderr and not (tmp_path / "o").exists()


def test_nproc_must_be_positive(capsys):
    assert main(["solve", "poisson", "--nproc", "0"]) == 2
    assert "--nproc must be at least 1" in capsys.readouterr().err


def test_a_one_process_run_resumes_on_two(tmp_path, capsys, monkeypatch):
    """A run stopped after its first checkpoint (a failed write) goes on with --nproc 2 from that checkpoint:
    the points it saved are split across the processes, and every step's loss is the uninterrupted
    one-process run's to rounding."""
    import pinnkan.training.checkpoint as checkpoint
    from pinnkan.runfolder import RunDir

    f = tmp_path / "heat.py"
    f.write_text(HEAT)
    argv = ["solve", str(f), *SMALL, "--optimizer", "adam+lm", "--adam-steps", "3", "--steps", "3"]
    argv += ["--checkpoint-every", "1"]
    code, _, err = run([*argv, "--out", str(tmp_path / "whole")], capsys)
    assert code == 0, err

    fail_checkpoint_write(monkeypatch, 3)
    out = tmp_path / "cut"
    assert main([*argv, "--out", str(out)]) == 2
    assert checkpoint.load_checkpoint(RunDir.staging(out) / "checkpoint.pt")["position"]["step"] == 1
    monkeypatch.undo()

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1", "PINNKAN_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "pinnkan", "solve", "--resume", str(out), "--nproc", "2"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    whole, resumed = _history(tmp_path / "whole"), _history(out)
    assert len(whole) == len(resumed) > 5 and [r["phase"] for r in whole] == [r["phase"] for r in resumed]
    for a, b in zip(whole, resumed):
        assert float(b["loss"]) == pytest.approx(float(a["loss"]), rel=1e-10, abs=1e-300), (a, b)
