"""Inverse problems: unknown parameters as trainable scalars, observations, the data term."""

import json
import math

import numpy as np
import pytest
import torch

import pinnkan
from pinnkan.errors import UserError
from pinnkan.observations import Observations, read_observations
from pinnkan.training import Collocation, PINNLoss
from pinnkan.training.jacobian import residual_jacobian
from pinnkan.training.loss import DataTerm
from pinnkan.unknowns import Unknown, UnknownParameters, estimates, parse_request

from .conftest import rel_err, run_cli, surrogate_kinds

TINY = ["--n-interior", "64", "--n-boundary", "16", "--steps", "3", "--adam-steps", "2", "--log-every", "2"]


@pytest.mark.parametrize(
    "spec,initial",
    [(Unknown(), 0.003), (Unknown(), -2.0), (Unknown(bounds=(1e-4, 1.0)), 0.05), (Unknown(bounds=(-1, 3)), 0.5)],
)
def test_values_round_trip_and_carry_gradients(spec, initial):
    s = spec.resolved(initial)
    assert s.log == (initial > 0 and (s.bounds is None or s.bounds[0] > 0))
    u = UnknownParameters({"a": s})
    v = u.value("a")
    assert math.isclose(float(v.detach()), initial, rel_tol=1e-12)
    v.backward()
    assert float(u.raw_a.grad) != 0.0


def test_bad_specs_and_requests():
    with pytest.raises(ValueError, match="inside the bounds"):
        Unknown(bounds=(1.0, 2.0)).resolved(3.0)
    with pytest.raises(ValueError, match="positive range"):
        Unknown(log=True).resolved(-1.0)
    assert parse_request("nu=0.05, k") == (["nu", "k"], {"nu": 0.05})
    with pytest.raises(ValueError, match="not a number"):
        parse_request("nu=abc")
    with pytest.raises(UserError, match="no parameter 'mu' to learn"):
        pinnkan.load_problem("burgers", unknowns="mu")
    with pytest.raises(UserError, match="not a real number"):
        pinnkan.load_problem("burgers_inverse", unknowns="n_obs")


def test_the_residual_reads_the_estimate_and_everything_else_the_true_value():
    p = pinnkan.load_problem("burgers", unknowns="nu=0.02")
    assert p.unknown_specs["nu"].initial == 0.02 and p.nu == pytest.approx(0.01 / math.pi)
    model = pinnkan.make_surrogate("kan", p)
    model.unknowns = UnknownParameters(p.unknown_specs)
    with estimates(p, model):
        assert isinstance(p.nu, torch.Tensor) and float(p.nu.detach()) == pytest.approx(0.02)
        assert p.configured("nu") == pytest.approx(0.01 / math.pi)
    assert p.nu == pytest.approx(0.01 / math.pi) and p.param_values()["nu"] == pytest.approx(0.01 / math.pi)


def _inverse_loss(kind: str):
    p = pinnkan.load_problem("heat_inverse", n_obs=30)
    model = pinnkan.make_surrogate(kind, p, width=[2, 5, 1] if kind != "mlp" else [2, 8, 8, 1])
    model.unknowns = UnknownParameters(p.unknown_specs).double()
    pts = Collocation.sample(p, {"n_interior": 40, "n_boundary": 8, "n_initial": 8, "sampling": "sobol"}, 0,
                             torch.float64, "cpu")
    obs = p.observations()
    values = obs.values.copy()
    values[::3, 0] = np.nan  # some entries unobserved
    data = DataTerm.of(Observations.of(obs.x, values, np.linspace(0.5, 2, 30)[:, None]), 2.0, torch.float64, "cpu")
    return PINNLoss(p, model, "forward", pts, 0.1, data)


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_data_term_and_its_jacobian(kind):
    """r.r is the loss (data term included) and 2 J^T r its gradient, the unknown's column included."""
    loss = _inverse_loss(kind)
    d = loss.data
    pred = loss.model(d.x).detach()
    manual = float((d.weights * (pred - d.values).square()).sum() / d.count)
    terms = loss.terms()
    assert math.isclose(float(terms["data_loss"].detach()), manual, rel_tol=1e-12) and d.count == 20
    assert float(d.weights[::3].abs().max()) == 0.0 and math.isclose(float(d.weights.sum()) / d.count, 1.0)
    r, jac = residual_jacobian(loss, chunk=7)
    loss.model.zero_grad()
    terms["loss"].backward()
    grad = torch.cat([q.grad.reshape(-1) for q in loss.model.parameters()])
    assert abs(float(r @ r - terms["loss"].detach())) < 1e-12 * float(terms["loss"].detach())
    assert rel_err(2 * jac.T @ r, grad) < 1e-10
    assert float(loss.model.unknowns.raw_kappa.grad) != 0.0  # the PDE term depends on the unknown


def _csv(path, header, rows):
    path.write_text(",".join(header) + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")
    return path


def test_read_observations(tmp_path):
    p = pinnkan.load_problem("kovasznay")  # three fields: observe only some
    good = _csv(tmp_path / "ok.csv", ["x", "y", "u", "sigma_u"], [[0.1, 0.2, 1.0, 0.1], [0.3, 0.4, 2.0, 0.2]])
    obs = read_observations(good, p)
    assert obs.count == 2 and np.isnan(obs.values[:, 1:]).all() and obs.weights[0, 0] == pytest.approx(1.6)
    bad = {
        "extra column": (["x", "y", "u", "w"], [[0.1, 0.2, 1.0, 3.0]], "column 'w'"),
        "missing coordinate": (["x", "u"], [[0.1, 1.0]], "no column for coordinate"),
        "no field": (["x", "y", "sigma"], [[0.1, 0.2, 1.0]], "no observed field"),
        "NaN": (["x", "y", "u"], [[0.1, "nan", 1.0]], "NaN"),
        "outside": (["x", "y", "u"], [[9.0, 0.2, 1.0]], "outside"),
        "zero sigma": (["x", "y", "u", "sigma"], [[0.1, 0.2, 1.0, 0.0]], "sigma"),
    }
    for name, (header, rows, message) in bad.items():
        with pytest.raises(UserError, match=message):
            read_observations(_csv(tmp_path / f"{name}.csv", header, rows), p)


def test_inverse_run_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = run_cli(["solve", "heat_inverse", "--width", "2,4,1", "--grids", "4", *TINY, "--out", str(out)],
                           capsys)
    assert code == 0, err
    m = json.loads((out / "metrics.json").read_text())
    nu = m["unknowns"]["kappa"]
    assert nu["initial"] == 0.3 and nu["true"] == 1.0 and nu["value"] > 0 and "rel_error" in nu
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert "kappa" in header and "data_loss" in header
    model = pinnkan.surrogates.load_surrogate(out / "model.pt")  # the unknown rides along
    assert model.unknowns.values()["kappa"] == pytest.approx(nu["value"])
    # user data for a forward problem's parameter; and the mistakes
    data = _csv(tmp_path / "obs.csv", ["x", "t", "u"], [[0.5, 0.5, 0.6], [0.25, 0.1, 0.64]])
    code, _, err = run_cli(["solve", "burgers", "--set", "problem.unknowns=nu=0.01", "--data", str(data), "--width",
                            "2,4,1", "--grids", "4", *TINY, "--out", str(tmp_path / "user")], capsys)
    assert code == 0, err
    assert "nu" in json.loads((tmp_path / "user" / "metrics.json").read_text())["unknowns"]
    for argv, message in (
        (["solve", "burgers", "--set", "problem.unknowns=nu"], "no observations"),
        (["solve", "burgers", "--data", str(tmp_path / "none.csv")], "no such file"),
        (["solve", "heat", "--set", "problem.unknowns=kappa"], "no parameter 'kappa'"),
    ):
        code, _, err = run_cli([*argv, *TINY, "--out", str(tmp_path / "never")], capsys)
        assert code == 2 and err.count("\n") == 1 and message in err, err
        assert not (tmp_path / "never").exists()


@pytest.mark.slow
def test_heat_inverse_recovers_the_diffusivity():
    solution = pinnkan.solve("heat_inverse", "kan", progress=False)
    assert abs(solution.unknowns["kappa"] - 1.0) < 1e-2
