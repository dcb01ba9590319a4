"""`pinnkan check`: what pinnkan understood of a problem, for every built-in, the documented problem files and
a table of broken ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pinnkan.registry import builtin_problems

from .conftest import run_cli as run

ROOT = Path(__file__).resolve().parent.parent
FILES = [
    "examples/plate_with_hole.py",
    "benchmarks/heldout/cavity.py",
    "benchmarks/dev/kovasznay.py",
    "benchmarks/dev/inverse_conductivity.py",
]


@pytest.mark.parametrize("name", [*builtin_problems(), *(str(ROOT / f) for f in FILES)])
def test_check_reads_every_problem_in_seconds_and_draws_it(name, tmp_path, capsys):
    picture = tmp_path / "check.png"
    tic = time.perf_counter()
    code, out, err = run(["check", name, "--out", str(picture)], capsys)
    assert code == 0, out + err
    assert time.perf_counter() - tic < 30  # a few seconds on a quiet machine; generous for a loaded one
    for heading in ("problem", "coordinates", "fields", "domain", "residual", "condition", "solution", "plan"):
        assert f"\n{heading}" in "\n" + out, heading
    assert "problems found: none" in out
    assert picture.stat().st_size > 1000


def test_check_of_the_cavity_says_what_it_understood(tmp_path, capsys):
    picture = tmp_path / "not" / "yet" / "c.png"  # a folder that does not exist yet is made (as on a fresh clone)
    code, out, _ = run(["check", str(ROOT / "benchmarks/heldout/cavity.py"), "--out", str(picture)], capsys)
    assert code == 0 and picture.exists()
    assert "fields       u, v, p" in out
    assert "condition    lid: Dirichlet on y+, fields u, v, 800 points" in out
    assert "condition    gauge: PointSet, fields p, 1 points" in out
    assert "reference values at points (reference_points())" in out
    assert "hard_bc True" in out and "lid, gauge penalised" in out


BROKEN = """
import torch
from pinnkan import Box, Dirichlet, Initial, Problem

class Broken(Problem):
    name = "broken"
    description = "two fields, one equation, no time"
    coords = ("x", "tau")
    fields = ("u", "v")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(faces="x-", fields="u", value=0.0), Initial(value=0.0))

    def residual(self, x, jet):
        return jet["u"].d("tau") - jet["u"].dd("x")
"""


def test_check_lists_what_is_wrong_and_exits_2(tmp_path, capsys):
    f = tmp_path / "broken.py"
    f.write_text(BROKEN)
    code, out, _ = run(["check", str(f), "--out", str(tmp_path / "b.png")], capsys)
    assert code == 2
    assert "problems found" in out and 'add `time = "<name>"` to the problem class' in out
    assert (tmp_path / "b.png").exists()  # the geometry is drawn whatever else is wrong
