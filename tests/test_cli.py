"""The pinnkan command: a tiny end-to-end run, and every user mistake as one line + exit 2."""

import csv
import json

import pytest
import torch

from pinnkan.cli import main

from .conftest import run_cli as run
from .conftest import surrogate_kinds

TINY = ["--n-interior", "64", "--n-boundary", "16", "--steps", "3", "--adam-steps", "2", "--log-every", "2"]


def test_list(capsys):
    code, out, _ = run(["list"], capsys)
    assert code == 0
    assert any(line.startswith("poisson ") for line in out.splitlines())
    assert "poisson_sinsin" in out


@pytest.mark.parametrize("model", surrogate_kinds(forward_only=False))
def test_solve_end_to_end(tmp_path, capsys, model):
    from pinnkan.surrogates import SURROGATES

    out = tmp_path / "run"
    extra = ["--width", "2,5,1", "--grids", "3,6"] if SURROGATES[model].has_grid() else ["--width", "2,8,8,1"]
    code, _, err = run(["solve", "poisson", "--model", model, *extra, *TINY, "--out", str(out)], capsys)
    assert code == 0, err
    assert "params" in err.splitlines()[-1]
    names = {p.name for p in out.iterdir()}
    assert names == {"config.json", "history.csv", "metrics.json", "model.pt", "loss_curves.png", "solution.png"}
    m = json.loads((out / "metrics.json").read_text())
    for key in (
        "problem",
        "model",
        "params",
        "steps",
        "wall_s",
        "mse",
        "rel_l2",
        "h1_mse",
        "rel_h1",
        "dtype",
        "device",
        "seed",
        "status",
    ):
        assert key in m
    assert m["status"] == "ok"
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert rows and set(rows[0]) >= {
        "step",
        "phase",
        "wall_s",
        "loss",
        "pde_loss",
        "bc_loss",
        "mse",
        "rel_l2",
        "h1_mse",
        "rel_h1",
    }
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["data"]["n_interior"] == 64 and cfg["train"]["alpha"] == 0.01
    blob = torch.load(out / "model.pt", weights_only=True)
    assert blob["spec"]["kind"] == model
    if model == "kan":
        assert m["grid"] == 6 and m["steps"] == 2 + 3 + 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert main(["plot", str(out), "--out", str(tmp_path / "plot.png")]) == 0 and (tmp_path / "plot.png").exists()


def test_config_file_and_overrides(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[problem]\nname = "poisson_sinsin"\n[model]\nwidth = [2, 3, 1]\n[train]\ngrids = [3]\n')
    out = tmp_path / "r"
    code, _, err = run(
        ["solve", "poisson_sinsin", "--config", str(cfg), "--set", "train.alpha=0.5", *TINY, "--out", str(out)], capsys
    )
    assert code == 0, err
    c = json.loads((out / "config.json").read_text())
    assert c["model"]["width"] == [2, 3, 1] and c["train"]["alpha"] == 0.5 and c["model"]["grid"] == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["solve", "nope"], "unknown problem 'nope'; known: "),
        (["solve", "poisson", "--model", "cnn"], "model.kind = 'cnn' is not allowed; choose one of: kan, mlp"),
        (["solve", "poisson", "--width", "2,ten,1"], "model.width = '2,ten,1' is not a list of integers"),
        (["solve", "poisson", "--width", "3,10,1"], "model.width = 3,10,1 must start with 2"),
        (["solve", "poisson", "--steps", "0"], "train.steps = '0' must be positive"),
        (["solve", "poisson", "--n-interior", "-5"], "data.n_interior = '-5' must be positive"),
        (["solve", "poisson", "--grid", "10", "--grids", "5,10"], "disagrees"),
        (["solve", "poisson", "--set", "train.nope=1"], "unknown config key 'train.nope'; known in [train]: optimizer"),
        (["solve", "poisson", "--set", "problem.beta=2"], "has no parameter 'beta'"),
        (["solve", "poisson", "--bogus"], "unrecognized arguments: --bogus"),
        (
            ["solve", "poisson", "--device", "cuda"] if not torch.cuda.is_available() else ["solve", "nope"],
            "cuda" if not torch.cuda.is_available() else "unknown problem",
        ),
        ([], "the following arguments are required: command"),
    ],
)
def test_user_errors_are_one_line_exit_2(tmp_path, capsys, argv, message):
    argv = argv + (["--out", str(tmp_path / "o")] if argv and argv[0] == "solve" else [])
    code, out, err = run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert message in err
    assert not (tmp_path / "o").exists()
    assert not list(tmp_path.iterdir())


def test_bad_toml_and_unknown_section(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\nkind=")
    code, _, err = run(["solve", "poisson", "--config", str(bad)], capsys)
    assert code == 2 and "is not valid TOML" in err and len(err.strip().splitlines()) == 1
    unk = tmp_path / "unk.toml"
    unk.write_text("[optim]\nlr = 1\n")
    code, _, err = run(["solve", "poisson", "--config", str(unk)], capsys)
    assert code == 2 and "unknown config section [optim]; known: problem, model, data, train, run" in err
    code, _, err = run(["solve", "poisson", "--config", str(tmp_path / "missing.toml")], capsys)
    assert code == 2 and "does not exist" in err


def test_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run(["solve", "poisson", *TINY, "--out", str(blocker / "sub")], capsys)
    assert code == 2 and "cannot be written" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(["solve", "poisson", *TINY, "--out", str(blocker)], capsys)
    assert code == 2 and "is not a folder" in err


def test_user_problem_file_from_cli(tmp_path, capsys):
    from .test_problems import GOOD

    f = tmp_path / "decay.py"
    f.write_text(GOOD)
    out = tmp_path / "run"
    code, _, err = run(
        ["solve", str(f), "--set", "problem.omega=2", "--width", "1,4,1", "--grids", "4", *TINY, "--out", str(out)],
        capsys,
    )
    assert code == 0, err
    assert json.loads((out / "config.json").read_text())["problem"]["omega"] == 2.0
    broken = tmp_path / "broken.py"
    broken.write_text("import nonexistent_module_xyz\n")
    code, _, err = run(["solve", str(broken)], capsys)
    assert code == 2 and "failed to import: ModuleNotFoundError" in err
    # declares its derivatives but the residual asks for one more (u_xx): refused before any run starts
    short = tmp_path / "short.py"
    short.write_text(GOOD.replace("    domain = Box", '    derivatives = ("x",)\n    domain = Box'))
    code, _, err = run(["solve", str(short), "--out", str(tmp_path / "never")], capsys)
    assert code == 2 and err.count("\n") == 1 and "not u_xx" in err
    assert not (tmp_path / "never").exists()


def test_shipped_configs_resolve_by_name(tmp_path, monkeypatch):
    from pinnkan.config import load_toml

    monkeypatch.chdir(tmp_path)  # no configs/ here: the packaged copies are found
    assert load_toml("scaling_poisson")["sweep"]["problem"] == "poisson"
    assert load_toml("configs/poisson.toml")["problem"]["name"] == "poisson"


@pytest.mark.parametrize(
    "old, new, message",
    [
        (  # one residual value per point, not three
            'return jet.dd("x") + self.omega**2 * jet.val',
            'return (jet.dd("x") + self.omega**2 * jet.val).repeat(3)',
            "residual must give one value (or row) per point",
        ),
        (  # a forcing with a pole
            'return jet.dd("x") + self.omega**2 * jet.val',
            'return jet.dd("x") + 1 / (x[:, 0] - x[:, 0])',
            "residual is not finite at 16 of 16 check points",
        ),
        ('return jet.dd("x") + self.omega**2 * jet.val', "return jet.dd('x').numpy()", "not a torch tensor"),
        (
            'return jet.dd("x") + self.omega**2 * jet.val',
            'return jet.dd("x") + self.omgea',
            "residual failed: AttributeError",
        ),
        (  # an exact solution of the wrong shape
            "return torch.sin(self.omega * x[:, :1]) + torch.cos(self.omega * x[:, :1])",
            "return torch.sin(self.omega * x[:, 0])",
            "exact(x) must return shape (N, 1)",
        ),
        (  # an exact solution that is not finite inside the domain
            "return torch.sin(self.omega * x[:, :1]) + torch.cos(self.omega * x[:, :1])",
            "return torch.log(x[:, :1] - 0.5)",
            "is not finite",
        ),
    ],
)
def test_problem_file_mistakes_are_caught_before_training(tmp_path, capsys, old, new, message):
    from .test_problems import GOOD

    assert old in GOOD
    f = tmp_path / "bad.py"
    f.write_text(GOOD.replace(old, new))
    code, _, err = run(["solve", str(f), *TINY, "--width", "1,3,1", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not [p for p in tmp_path.iterdir() if p.name != "bad.py"]


def test_lm_takes_a_residual_that_cannot_batch_point_by_point(tmp_path, capsys):
    """A data-dependent Python branch cannot run inside vmap: Gauss-Newton's Jacobian then goes through the
    split path (the residual once on the whole batch, the surrogate's rows batched), and trains as well as
    the first-order optimizers do on the same file."""
    from .test_problems import GOOD

    old = 'return jet.dd("x") + self.omega**2 * jet.val'
    new = 'return jet.dd("x") + (self.omega**2 if float(x[:, 0].max()) < 10 else 0.0) * jet.val'
    f = tmp_path / "branchy.py"
    f.write_text(GOOD.replace(old, new))
    argv = ["solve", str(f), *TINY, "--width", "1,3,1", "--grids", "3"]
    code, _, err = run([*argv, "--optimizer", "adam+lm", "--out", str(tmp_path / "lm")], capsys)
    assert code == 0, err
    lm = json.loads((tmp_path / "lm" / "metrics.json").read_text())
    assert lm["rel_l2"] < 1e-2, lm["rel_l2"]


FLOW = """
import torch
from pinnkan import Box, Dirichlet, Initial, PointSet, Problem

class Flow(Problem):
    name = "flow2"
    description = "two fields in space and time"
    coords = ("x", "t")
    fields = ("u", "v")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(faces="x-", fields=("u", "v")), Initial(fields="u"), PointSet(at=[(0.5, 0.5)], fields="v"))

    def residual(self, x, jet):
        t = self.coords[1]  # so that renaming the coordinate is one edit
        return torch.stack([jet["u"].d(t) - jet["u"].dd("x"), jet["v"].d(t) - jet["v"].dd("x")], 1)

    def exact(self, x):
        return torch.stack([torch.exp(-x[:, 1]) * torch.cos(x[:, 0]), x[:, 0] + x[:, 1] * 0], 1)
"""


@pytest.mark.parametrize(
    "old, new, message",
    [
        (  # fewer equations than fields, nothing else to pin v down
            'return torch.stack([jet["u"].d(t) - jet["u"].dd("x"), jet["v"].d(t) - jet["v"].dd("x")], 1)',
            'return jet["u"].d(t) - jet["u"].dd("x")',
            "the residual gives 1 column for 2 fields (u, v)",
        ),
        (  # an exact solution with a column too many
            "x[:, 0] + x[:, 1] * 0], 1)",
            "x[:, 0], x[:, 1]], 1)",
            "exact(x) must return shape (N, 2)",
        ),
        ('fields=("u", "v"))', 'fields=("u", "w"))', "no field 'w'; the problem's fields are u, v"),
        (  # a value with the wrong number of columns for the fields it sets
            'Dirichlet(faces="x-", fields=("u", "v"))',
            'Dirichlet(faces="x-", fields=("u", "v"), value=lambda p, x: torch.zeros(len(x), 3))',
            "expected",
        ),
        (  # time not declared and no coordinate named t: the line to add
            'coords = ("x", "t")',
            'coords = ("x", "tau")',
            'add `time = "<name>"` to the problem class',
        ),
        ('faces="x-"', 'faces="x+-"', "no boundary part 'x+-'"),
        ("at=[(0.5, 0.5)]", "at=[(0.5, 1.5)]", "lie outside the problem's domain"),
    ],
)
def test_multi_field_file_mistakes_are_one_line(tmp_path, capsys, old, new, message):
    assert old in FLOW
    f = tmp_path / "bad.py"
    f.write_text(FLOW.replace(old, new))
    code, _, err = run(["solve", str(f), *TINY, "--model", "kan", "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_multi_field_file_as_written_trains(tmp_path, capsys):
    f = tmp_path / "flow.py"
    f.write_text(FLOW)
    code, _, err = run(["solve", str(f), *TINY, "--model", "kan", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    m = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert m["status"] == "ok" and "rel_l2_v" in m
