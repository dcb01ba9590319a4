"""Problems without a solution (check-set residuals), --reference FILE, and the README's example file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pinnkan.errors import UserError
from pinnkan.metrics import CHECK_METRICS, METRICS, ErrorTracker
from pinnkan.reference_data import read_reference
from pinnkan.registry import load_problem_file
from pinnkan.solve import load_problem

from .conftest import build
from .conftest import run_cli as run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TINY = ["--n-interior", "200", "--n-boundary", "40", "--steps", "2", "--adam-steps", "5", "--grids", "5"]


def test_a_problem_without_a_solution_tracks_its_residuals():
    p = load_problem_file(EXAMPLES / "plate_with_hole.py")()
    assert not p.has_exact and not p.has_reference
    tracker = ErrorTracker(p)
    assert tracker.measure == "residual" and tracker.keys == CHECK_METRICS
    model = build("kan", [2, 4, 1], *p.domain.bounds())
    got = tracker(model, "forward")
    # the figures are the residuals' on the fixed check set, recomputed here by autograd
    from pinnkan.jet import compute_jet

    jet = compute_jet("autograd", model, tracker.x, 2, p.coords, p.fields, create_graph=False, laplacian=True)
    r = p.residual(tracker.x, jet).detach().abs()
    assert got["residual_mean"] == pytest.approx(float(r.mean()), rel=1e-10)
    assert got["residual_max"] == pytest.approx(float(r.max()), rel=1e-10)
    assert got["bc_max"] > 0 and got["bc_max"] >= got["bc_mean"]
    # the check set is not the training set
    train = p.interior(200, seed=0)
    assert not np.isin(tracker.x.numpy()[:, 0], train[:, 0]).any()


def test_example_file_solves_and_exports(tmp_path, capsys):
    out = tmp_path / "plate"
    code, _, err = run(["solve", str(EXAMPLES / "plate_with_hole.py"), *TINY, "--out", str(out)], capsys)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert m["error_measure"] == "residual" and m["error_keys"] == list(CHECK_METRICS)
    assert "rel_l2" not in m and m["residual_max"] >= m["residual_mean"] > 0
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert set(CHECK_METRICS) <= set(header) and "rel_l2" not in header
    code, _, err = run(["eval", str(out), "--grid", "21", "--out", str(tmp_path / "u.csv")], capsys)
    assert code == 0, err
    table = np.genfromtxt(tmp_path / "u.csv", delimiter=",", names=True)
    hole = (table["x"] - 0.3) ** 2 + (table["y"] - 0.2) ** 2 < 0.4**2 - 1e-9
    assert np.isnan(table["u"][hole]).all() and np.isfinite(table["u"][~hole]).all()


def _write_reference(path: Path, p, x: np.ndarray, grad: bool) -> None:
    xt = torch.as_tensor(x).requires_grad_(True)
    u = p.exact(xt)
    g = torch.autograd.grad(u.sum(), xt)[0].detach().numpy()
    cols = {"x": x[:, 0], "y": x[:, 1], "u": u.detach().numpy()[:, 0]}
    if grad:
        cols.update({"du_dx": g[:, 0], "du_dy": g[:, 1]})
    path.write_text(
        ",".join(cols) + "\n" + "\n".join(",".join(f"{v:.17g}" for v in row) for row in zip(*cols.values()))
    )


def test_reference_data_gives_the_errors_of_the_exact_solution_at_its_points(tmp_path):
    p = load_problem("poisson_disk")
    x = p.domain.sample_interior(300, seed=9)
    model = build("kan", [2, 4, 1], *p.domain.bounds())
    _write_reference(tmp_path / "ref.csv", p, x, grad=True)
    _write_reference(tmp_path / "values.csv", p, x, grad=False)
    with_grad = ErrorTracker(p, reference_data=read_reference(tmp_path / "ref.csv", p))
    values_only = ErrorTracker(p, reference_data=read_reference(tmp_path / "values.csv", p))
    assert with_grad.measure == "data" and with_grad.keys == METRICS and values_only.keys == METRICS[:2]
    # the same errors as an exact tracker moved onto those points
    exact = ErrorTracker(p)
    exact.x = torch.as_tensor(x)
    xt = exact.x.clone().requires_grad_(True)
    u = p.exact(xt)
    exact.u, exact.grad_u = u.detach(), torch.autograd.grad(u.sum(), xt)[0].unsqueeze(-1)
    want = exact(model)
    got = with_grad(model)
    for k in METRICS:
        assert got[k] == pytest.approx(want[k], rel=1e-9)
    assert set(values_only(model)) == {"mse", "rel_l2"}


def test_solve_with_reference_file(tmp_path, capsys):
    p = load_problem("poisson_disk")
    _write_reference(tmp_path / "ref.csv", p, p.domain.sample_interior(100, seed=1), grad=False)
    out = tmp_path / "run"
    code, _, err = run(
        ["solve", "poisson_disk", *TINY, "--reference", str(tmp_path / "ref.csv"), "--out", str(out)], capsys
    )
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    assert m["error_measure"] == "data" and m["error_keys"] == ["mse", "rel_l2"] and "rel_h1" not in m
    cfg = json.loads((out / "config.json").read_text())
    assert Path(cfg["data"]["reference"]).is_absolute()


@pytest.mark.parametrize(
    "content, message",
    [
        ("x,y,v\n0,0,1\n", "lack u"),
        ("x,y,u,du_dx\n0,0,1,2\n", "all or none; lacking du_dy"),
        ("x,y,u\n0,nan,1\n", "NaN or infinite"),
        ("x,y,u\n3,0,1\n", "outside the problem's domain"),
        ("x,y,u\n0,0\n", "must be 3 numbers"),
        ("x,y,u\n", "holds no points"),
    ],
)
def test_bad_reference_files_are_one_line(tmp_path, capsys, content, message):
    (tmp_path / "ref.csv").write_text(content)
    with pytest.raises(UserError, match=message):
        read_reference(tmp_path / "ref.csv", load_problem("poisson_disk"))
    code, _, err = run(
        ["solve", "poisson_disk", *TINY, "--reference", str(tmp_path / "ref.csv"), "--out", str(tmp_path / "r")], capsys
    )
    assert code == 2 and len(err.strip().splitlines()) == 1 and not (tmp_path / "r").exists()
