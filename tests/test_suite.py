"""`pinnkan suite`: every registered surrogate through a two-problem table, and bad input."""

import csv

import pytest

from pinnkan.cli import main

from .conftest import docs_outputs, surrogate_kinds

TINY = [
    "--set",
    "data.n_interior=64",
    "--set",
    "data.n_boundary=16",
    "--set",
    "data.n_initial=16",
    "--set",
    "train.steps=2",
    "--set",
    "train.adam_steps=2",
    "--set",
    "run.log_every=2",
]


@pytest.mark.parametrize("model", surrogate_kinds(forward_only=False))
def test_suite_table_for_every_surrogate(tmp_path, capsys, model):
    extra = ["--set", "train.grids=3,4"] if model == "kan" else []
    code = main(["suite", "--problems", "poisson_sinsin,heat", "--model", model, *TINY, *extra, "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["problem"] for r in rows] == ["poisson_sinsin", "heat"]
    assert all(r["status"] == "ok" and r["surrogate"].startswith(model) for r in rows)
    table = (tmp_path / "results.md").read_text()
    assert table.count(f"| {model} ") == 2


def test_suite_refuses_unknown_problems_in_one_line(tmp_path, capsys):
    assert main(["suite", "--problems", "poisson,nope", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown problem 'nope'" in err[0]


def test_seeds_give_medians_and_ranges(tmp_path, capsys):
    code = main(
        [
            "suite",
            "--problems",
            "poisson_sinsin",
            "--seeds",
            "3",
            *TINY,
            "--set",
            "train.grids=3",
            "--out",
            str(tmp_path),
        ]
    )
    assert code == 0, capsys.readouterr().err
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["seed"] for r in rows] == ["0", "1", "2"]
    values = sorted(float(r["rel_l2"]) for r in rows)
    assert len(set(values)) == 3  # different seeds, different runs
    table = (tmp_path / "results.md").read_text()
    assert f"{values[1]:.2e} [{values[0]:.2e}, {values[2]:.2e}]" in table
    assert all((tmp_path / "runs" / "poisson_sinsin" / f"seed{k}" / "metrics.json").exists() for k in range(3))
    assert main(["suite", "--problems", "poisson_sinsin", "--seeds", "0", "--out", str(tmp_path / "b")]) == 2


def test_suite_over_a_folder_of_files_keeps_finished_runs_and_feeds_the_docs_generator(tmp_path, capsys):
    """`--dir` runs problem files; `--keep` reads finished runs; the docs generator writes their table and the
    README's, each with its provenance line."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "problems"
    folder.mkdir()
    for name in ("burgers.py", "elasticity.py"):
        shutil.copy(root / "benchmarks" / "dev" / name, folder / name)
    out = tmp_path / "suite"
    argv = ["suite", "--dir", str(folder), "--out", str(out), *TINY, "--set", "train.max_time=5"]
    assert main(argv) == 0, capsys.readouterr().err
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [r["problem"] for r in rows] == ["burgers", "elasticity"] and all(r["status"] == "ok" for r in rows)
    first = (out / "runs" / "burgers" / "metrics.json").stat().st_mtime
    assert main([*argv, "--keep"]) == 0  # nothing rerun
    assert (out / "runs" / "burgers" / "metrics.json").stat().st_mtime == first

    gen = docs_outputs()
    gen.RESULTS = tmp_path / "results"
    gen.suite(str(out), "dev")
    page = (tmp_path / "results" / "dev.md").read_text()
    assert "Produced by `python scripts/docs_outputs.py suite" in page and "commit" in page
    assert "| burgers |" in page and "| elasticity |" in page
    assert "(dev/burgers-solution.png)" in page and (tmp_path / "results" / "dev" / "burgers-solution.png").is_file()
    readme = tmp_path / "README.md"
    readme.write_text("before\n<!-- results:start -->\nPREVIOUS TABLE\n<!-- results:end -->\nafter\n")
    gen.readme(str(out), readme)
    text = readme.read_text()
    assert "PREVIOUS TABLE" not in text and "| burgers |" in text
    assert text.startswith("before") and text.endswith("after\n")


def test_table_of_a_problem_without_an_h1_figure():
    """A problem measured at points only (reference tables: no H1 error) still gets its row."""
    from pinnkan.suite import markdown

    rows = [
        {"problem": "cavity", "surrogate": "chebyshev", "params": 10, "status": "ok", "outcome": "stalled",
         "mse": 1e-4, "rel_l2": 3e-2, "rel_h1": "", "wall_s": 5.0},
        {"problem": "heat", "surrogate": "chebyshev", "params": 10, "status": "ok", "outcome": "budget",
         "mse": 1e-8, "rel_l2": 1e-4, "rel_h1": 2e-4, "wall_s": 5.0},
    ]
    text = markdown(rows, "today", "pinnkan suite")
    assert "| cavity | chebyshev | 10 | 1.00e-04 | 3.00e-02 |  | 5.0 | ok | stalled |" in text
    assert "| heat |" in text


def test_an_interrupted_run_ends_the_suite(tmp_path, capsys, monkeypatch):
    """Ctrl-C or SIGTERM stops the run in progress (written, resumable) and the suite with it."""
    import pinnkan.runfolder
    from pinnkan.suite import run_suite

    ran = []

    def fake(cfg, echo=True):
        ran.append(cfg["problem"]["name"])
        return {"model": "kan", "width": [2, 1], "seed": 0, "params": 1, "status": "interrupted"}

    monkeypatch.setattr(pinnkan.runfolder, "solve_config", fake)
    monkeypatch.setattr(pinnkan.runfolder, "summary_line", lambda m, out: "summary")
    rows = run_suite(["poisson", "heat"], None, tmp_path, [])
    assert ran == ["poisson"] and [r["status"] for r in rows] == ["interrupted"]
    assert "stopped at poisson" in capsys.readouterr().err
