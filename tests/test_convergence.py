"""Convergence orders: spline approximation error vs grid size, and a short PINN training run."""

import csv

import numpy as np
import pytest
import torch

from pinnkan.bspline import basis, uniform_knots


def _fit_error(grid: int, k: int) -> float:
    lo, hi = torch.tensor([-1.0]), torch.tensor([1.0])
    knots = uniform_knots(grid, k, lo, hi)
    x = torch.linspace(-1, 1, 4000)[:, None]
    f = torch.sin(3 * x[:, 0]) * torch.exp(x[:, 0])
    (b,) = basis(x, knots, k)
    coef = torch.linalg.lstsq(b[:, 0], f[:, None]).solution
    return float((b[:, 0] @ coef)[:, 0].sub(f).abs().max())


@pytest.mark.parametrize("k", [2, 3])
def test_spline_approximation_order(k):
    """Least-squares splines of order k converge like G^-(k+1): fit the log-log slope."""
    grids = np.array([8, 12, 16, 24, 32])
    errors = np.array([_fit_error(int(g), k) for g in grids])
    slope = np.polyfit(np.log(grids), np.log(errors), 1)[0]
    assert -(k + 1) - 0.5 < slope < -(k + 1) + 0.5, slope


@pytest.mark.slow
def test_kan_pinn_converges_on_poisson_sinsin(tmp_path):
    from pinnkan.config import defaults
    from pinnkan.runfolder import solve_config

    cfg = defaults()
    cfg["problem"]["name"] = "poisson_sinsin"
    cfg["model"]["width"] = [2, 5, 1]
    cfg["train"].update(grids=[5, 10], steps=200, adam_steps=100)
    cfg["data"].update(n_interior=2000, n_boundary=200)
    cfg["run"].update(out=str(tmp_path / "run"), progress=False, log_every=20)
    m = solve_config(cfg, echo=False)
    assert m["status"] == "ok"
    assert m["mse"] < 1e-5, m["mse"]
    with (tmp_path / "run" / "history.csv").open() as fh:
        first = float(next(csv.DictReader(fh))["mse"])
    assert m["mse"] < 1e-2 * first


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_kan_layer_spline_order(k):
    """A KAN edge's spline (the layer's own closed-form local basis), least-squares fitted to a smooth
    function on G intervals, has max error ~ G^-(k+1): fit the slope of log error against log G."""
    from pinnkan.surrogates import KANLayer

    x = torch.linspace(-1, 1, 4000)[:, None]
    f = torch.sin(3 * x) * torch.exp(x)
    grids = np.array([8, 12, 16, 24, 32])
    errors = []
    for g in grids:
        layer = KANLayer(1, 1, grid=int(g), k=k)
        (b,) = basis(x, layer.knots, k)
        with torch.no_grad():
            layer.base_weight.zero_()
            layer.spline_scaler.fill_(1.0)
            layer.spline_weight[0, 0] = torch.linalg.lstsq(b[:, 0], f).solution[:, 0]
            errors.append(float((layer(x) - f).abs().max()))
    slope = np.polyfit(np.log(grids), np.log(errors), 1)[0]
    assert -(k + 1) - 0.4 < slope < -(k + 1) + 0.4, (slope, errors)
