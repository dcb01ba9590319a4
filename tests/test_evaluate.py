"""pinnkan eval: values, gradients and residual at given points or on a grid; every input format; bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pinnkan.cli import main
from pinnkan.evaluate import evaluate, read_points
from pinnkan.runfolder import load_run

from .conftest import run_cli as run

TINY = ["--n-interior", "200", "--n-boundary", "40", "--steps", "2", "--adam-steps", "5", "--grids", "5"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "kan"
    assert main(["solve", "poisson", "--width", "2,4,1", *TINY, "--out", str(out)]) == 0
    return out


def test_values_gradients_and_residual_are_the_models(run_dir):
    problem, model, _ = load_run(run_dir)
    x = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    t = evaluate(problem, model, x)
    xt = torch.as_tensor(x)
    with torch.no_grad():
        np.testing.assert_allclose(t["u"], model(xt)[:, 0].numpy(), rtol=1e-12, atol=1e-14)
    h = 1e-6
    for k, c in enumerate(("x", "y")):
        e = torch.zeros(2, dtype=torch.float64)
        e[k] = h
        with torch.no_grad():
            fd = (model(xt + e) - model(xt - e))[:, 0].numpy() / (2 * h)
        np.testing.assert_allclose(t[f"du_d{c}"], fd, rtol=1e-6, atol=1e-7)
    from pinnkan.jet import compute_jet

    ref = (
        problem.residual(
            xt, compute_jet("autograd", model, xt.clone(), 2, problem.coords, problem.fields, create_graph=False)
        )
        .detach()
        .numpy()
    )
    np.testing.assert_allclose(t["residual"], ref, rtol=1e-9, atol=1e-9)
    assert (t["inside"] == 1).all()


def test_every_point_format_reads_the_same(tmp_path):
    x = np.array([[0.1, 0.2], [-0.5, 0.75], [1.5, 0.0]])
    (tmp_path / "plain.csv").write_text("\n".join(f"{a},{b}" for a, b in x) + "\n")
    (tmp_path / "named.csv").write_text("y,extra,x\n" + "\n".join(f"{b},7,{a}" for a, b in x) + "\n")
    np.save(tmp_path / "a.npy", x)
    np.savez(tmp_path / "a.npz", x=x)
    np.savez(tmp_path / "b.npz", x=x[:, 0], y=x[:, 1])
    for name in ("plain.csv", "named.csv", "a.npy", "a.npz", "b.npz"):
        np.testing.assert_array_equal(read_points(tmp_path / name, ("x", "y")), x)


def test_cli_points_csv_npz_and_vtk(run_dir, tmp_path, capsys):
    (tmp_path / "p.csv").write_text("x,y\n0.1,0.2\n3.0,0.0\n")
    code, _, err = run(
        ["eval", str(run_dir), "--points", str(tmp_path / "p.csv"), "--out", str(tmp_path / "v.csv")], capsys
    )
    assert code == 0, err
    assert "1 outside the domain (kept, inside = 0)" in err
    lines = (tmp_path / "v.csv").read_text().splitlines()
    assert lines[0] == "x,y,u,du_dx,du_dy,residual,inside" and lines[2].endswith(",0")
    argv = ["eval", str(run_dir), "--grid", "11", "--out", str(tmp_path / "g.npz"), "--vtk", str(tmp_path / "g.vtk")]
    code, _, err = run(argv, capsys)
    assert code == 0, err
    z = np.load(tmp_path / "g.npz")
    assert z["u"].shape == (121,) and set(z.files) >= {"x", "y", "u", "du_dx", "du_dy", "residual", "inside"}
    vtk = (tmp_path / "g.vtk").read_text().splitlines()
    assert vtk[3] == "DATASET STRUCTURED_POINTS" and vtk[4] == "DIMENSIONS 11 11 1"
    i = vtk.index("SCALARS u double 1")
    # VTK runs x fastest: the second value is at (x, y) = (-0.8, -1), the table's row 11
    assert float(vtk[i + 3]) == pytest.approx(z["u"][11], rel=1e-12)


@pytest.mark.parametrize(
    "content, suffix, message",
    [
        ("1,2,3\n", ".csv", "expected 2 column(s)"),
        ("0.1,nan\n", ".csv", "NaN or infinite"),
        ("a,b\n1,2\n", ".csv", "lacks the coordinate(s) x, y"),
        ("0.1,0.2\n0.3\n", ".csv", "not 2 numbers"),
        ("", ".csv", "holds no points"),
        ("0.1 0.2\n", ".dat", ".csv, .npy or .npz"),
    ],
)
def test_bad_points_are_one_line(run_dir, tmp_path, capsys, content, suffix, message):
    pts = tmp_path / f"p{suffix}"
    pts.write_text(content)
    out = tmp_path / "v.csv"
    code, _, err = run(["eval", str(run_dir), "--points", str(pts), "--out", str(out)], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--out", "v.csv"], "either --points FILE or --grid N"),
        (["--grid", "5", "--points", "p.csv", "--out", "v.csv"], "either --points FILE or --grid N"),
        (["--grid", "5", "--out", "v.txt"], ".csv or .npz"),
        (["--grid", "5", "--out", "v.csv", "--vtk", "v.vtu"], ".vtk file"),
        (["--grid", "1", "--out", "v.csv"], "at least 2"),
        (["--points", "missing.csv", "--out", "v.csv"], "no such file"),
    ],
)
def test_bad_options_are_one_line(run_dir, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["eval", str(run_dir), *argv], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "v.csv").exists()
