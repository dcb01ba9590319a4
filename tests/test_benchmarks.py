"""The benchmark problems (benchmarks/dev, benchmarks/heldout): exact solutions solve their own PDE and
conditions, and each computed reference converges as its docstring says."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from pinnkan.jet import autograd_jet
from pinnkan.solve import load_problem

ROOT = Path(__file__).resolve().parent.parent / "benchmarks"
FILES = sorted(str(p) for p in ROOT.glob("*/*.py"))


def module(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem + "_bench_test", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_two_halves_are_disjoint_and_large_enough():
    dev = {Path(f).stem for f in FILES if "/dev/" in f}
    held = {Path(f).stem for f in FILES if "/heldout/" in f}
    assert len(dev) >= 8 and len(held) >= 8 and len(dev) + len(held) >= 16
    names = [load_problem(f).name for f in FILES]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("path", [f for f in FILES if load_problem(f).has_exact], ids=lambda p: Path(p).stem)
def test_exact_solutions_solve_their_pde_and_conditions(path):
    p = load_problem(path)
    x = torch.as_tensor(p.interior(64, seed=3), dtype=torch.float64)
    layout = p.jet_layout()
    jet = autograd_jet(p.exact, x, layout, p.coords, p.fields, create_graph=False)
    r = p.residual(x, jet).detach()
    scale = float(p.exact(x).abs().max()) + 1.0
    assert float(r.abs().max()) < 1e-8 * scale * 1e3, float(r.abs().max())
    for i, cond in enumerate(p.conditions):
        if type(cond).__name__ == "PointSet" and cond.value is None:
            continue
        pts = torch.as_tensor(cond.points(p, 32, seed=i), dtype=torch.float64)
        cj = autograd_jet(p.exact, pts, p.condition_layout(i), p.coords, p.fields, create_graph=False)
        rc = cond.residual(p, pts, cj).detach()
        assert float(rc.abs().max()) < 1e-9 * scale, (p.condition_names[i], float(rc.abs().max()))


def test_laplace_holes_reference_meets_its_boundary_data():
    lh = module(str(ROOT / "dev/laplace_holes.py"))
    coef = lh.fit()
    th = np.linspace(0, 2 * np.pi, 500)
    err = 0.0
    for (cx, cy), r in lh.HOLES:
        err = max(err, np.abs(lh.evaluate(coef, cx + r * np.cos(th), cy + r * np.sin(th))).max())
    s = np.linspace(-0.5, 0.5, 999)
    for x, y in ((s, 0.5 + 0 * s), (s, -0.5 + 0 * s), (0.5 + 0 * s, s), (-0.5 + 0 * s, s)):
        err = max(err, np.abs(lh.evaluate(coef, x, y) - 1).max())
    assert err < 1e-9  # harmonic error: no larger inside (maximum principle)


@pytest.mark.parametrize(
    "path, nodes", [("dev/burgers.py", (8000, 16000)), ("heldout/burgers_two_modes.py", (6000, 12000))]
)
def test_cole_hopf_quadrature_converges(path, nodes):
    mod = module(str(ROOT / path))
    x = np.linspace(-1, 1, 41)
    for t in (0.2, 0.6, 1.0):
        a, b = (mod.cole_hopf(x, t, nodes=n) for n in nodes)
        assert np.abs(a - b).max() < 1e-11


def test_split_step_schrodinger_converges_in_time():
    nls = module(str(ROOT / "dev/schrodinger.py"))
    _, coarse = nls.split_step([0.2], modes=128, dt=4e-4)
    _, fine = nls.split_step([0.2], modes=128, dt=2e-4)
    _, finer = nls.split_step([0.2], modes=128, dt=1e-4)
    e1, e2 = np.abs(coarse - fine).max(), np.abs(fine - finer).max()
    assert 3.0 < e1 / e2 < 5.0  # second order (Strang)


def test_etdrk4_allen_cahn_and_kuramoto_sivashinsky_converge_in_time():
    ac = module(str(ROOT / "dev/allen_cahn2d.py"))
    _, a = ac.etdrk4([0.2], modes=32, dt=0.02)
    _, b = ac.etdrk4([0.2], modes=32, dt=0.01)
    _, c = ac.etdrk4([0.2], modes=32, dt=0.005)
    assert np.abs(b - c).max() < np.abs(a - b).max() / 8  # fourth order: 16x, allowing for rounding
    ks = module(str(ROOT / "heldout/ks.py"))
    _, a = ks.etdrk4([0.05], modes=64, dt=2e-4)
    _, b = ks.etdrk4([0.05], modes=64, dt=1e-4)
    _, c = ks.etdrk4([0.05], modes=64, dt=5e-5)
    assert np.abs(b - c).max() < np.abs(a - b).max() / 8


@pytest.mark.parametrize(
    "path", [f for f in FILES if "def finite_volumes(" in Path(f).read_text()], ids=lambda p: Path(p).stem
)
def test_finite_volume_heat_references_are_second_order(path):
    fv = module(path)
    u = {n: fv.finite_volumes(n, [0.05], dt=2.5e-4)[0] for n in (16, 32, 64)}
    e1 = np.abs(u[16] - u[32][::2, ::2]).max()
    e2 = np.abs(u[32] - u[64][::2, ::2]).max()
    assert 2.5 < e1 / e2 < 6.0  # second order in space (4x), at a time step small enough not to matter
    assert math.isfinite(e2)
