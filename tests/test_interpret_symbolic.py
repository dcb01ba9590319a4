"""Symbolic snapping end to end on a KAN built with the exact structure of sin(pi x) sin(pi y)."""

from __future__ import annotations

import math

import pytest
import sympy
import torch

import pinnkan
from pinnkan.errors import UserError
from pinnkan.interpret.formula import SymbolicKAN
from pinnkan.interpret.symbolic import build_symbolic, parse_fixed, simplify_constants, snap, symbolic
from pinnkan.jet import compute_jet
from pinnkan.solve import configure

from .conftest import rel_err, sin_square_kan


@pytest.fixture(scope="module")
def sinsin():
    torch.set_default_dtype(torch.float64)
    problem = pinnkan.load_problem("poisson_sinsin")
    cfg = configure(problem, "kan", None, {"width": [2, 2, 1], "grid": 20, "n_interior": 2000, "n_boundary": 200})
    return problem, sin_square_kan(), cfg


def test_the_built_kan_is_the_solution_up_to_spline_accuracy(sinsin):
    problem, model, _ = sinsin
    x = torch.rand(500, 2) * 2 - 1
    assert rel_err(model(x), problem.exact(x)) < 1e-3


def test_snap_finds_the_structure(sinsin):
    problem, model, cfg = sinsin
    x = torch.rand(1000, 2) * 2 - 1
    names = {(e.layer, e.i, e.o): e.chosen.name for e in snap(model, x)}
    assert [names[(0, i, o)] for i in range(2) for o in range(2)] == ["sin"] * 4
    assert names[(1, 0, 0)] == names[(1, 1, 0)] == "x^2"


def test_refined_formula_is_the_exact_solution(sinsin):
    problem, model, cfg = sinsin
    result = symbolic(problem, model, cfg, steps=20)
    assert result.errors["rel_l2"] < 1e-10
    assert result.residual["residual_max"] < 1e-8
    x, y = sympy.symbols("x y", real=True)
    assert sympy.simplify(result.formula[0] - sympy.sin(sympy.pi * x) * sympy.sin(sympy.pi * y)) == 0
    assert result.exact_form


def test_symbolic_kan_jets_match_autograd(sinsin):
    problem, model, _ = sinsin
    x = torch.rand(200, 2) * 2 - 1
    sym = build_symbolic(model, snap(model, x))
    xs = torch.rand(64, 2) * 2 - 1
    fwd = compute_jet("forward", sym, xs, 2, ("x", "y"), ("u",), create_graph=False)
    ref = compute_jet("autograd", sym, xs, 2, ("x", "y"), ("u",), create_graph=False)
    torch.testing.assert_close(fwd.value, ref.value)
    torch.testing.assert_close(fwd.grad, ref.grad)
    torch.testing.assert_close(fwd.lap(), ref.lap())


def test_to_sympy_agrees_with_the_network():
    lo, hi = torch.tensor([0.0, -2.0]), torch.tensor([1.0, 2.0])  # a non-trivial input map
    params = [torch.tensor([[[0.1, 0.5, 2.0, 0.3], [0.0, -1.0, 1.0, 0.2]]]), torch.tensor([[[0.2, 1.5, 0.7, 0.1]]])]
    sym = SymbolicKAN([2, 1, 1], lo, hi, [[["sin", "x^2"]], [["tanh"]]], params).double()
    expr = sym.to_sympy(("x", "y"))[0]
    f = sympy.lambdify(sympy.symbols("x y", real=True), expr, "numpy")
    pts = torch.stack([torch.rand(50), torch.rand(50) * 4 - 2], 1)
    torch.testing.assert_close(torch.as_tensor(f(*pts.numpy().T)), sym(pts)[:, 0])


def test_fixed_constants_get_no_gradient():
    params = [torch.tensor([[[0.1, 0.5, 2.0, 0.3]]])]
    sym = SymbolicKAN([1, 1], -torch.ones(1), torch.ones(1), [[["x^2"]]], params).double()
    sym(torch.rand(10, 1)).sum().backward()
    g = sym.values[0].grad[0, 0]
    assert g[2] == 0 and g[0] != 0 and g[1] != 0 and g[3] != 0  # x^2: c fixed at 1, d free


def test_simplify_constants():
    x = sympy.Symbol("x")
    e = 1.0000000001 * sympy.sin(3.14159265358979 * x) + 1e-12 + 0.123456 * x
    out = simplify_constants(e, 1e-6)
    assert out.has(sympy.pi) and not out.has(sympy.Float(1e-12)) and out.has(sympy.Float(0.123456))
    assert simplify_constants(sympy.Float(math.pi / 2) * x, 1e-9) == sympy.pi / 2 * x


def test_user_mistakes():
    with pytest.raises(UserError, match="LAYER,IN,OUT"):
        parse_fixed(["0,1=x"])
    with pytest.raises(UserError, match="unknown symbolic function"):
        parse_fixed(["0,1,0=sinh"])
    problem = pinnkan.load_problem("poisson_sinsin")
    mlp = pinnkan.make_surrogate("mlp", problem)
    with pytest.raises(UserError, match="needs a B-spline KAN"):
        snap(mlp, torch.rand(10, 2))
    with pytest.raises(UserError, match="empty"):
        snap(sin_square_kan(), torch.rand(10, 2), library=())
    with pytest.raises(UserError, match="no such edge"):
        snap(sin_square_kan(), torch.rand(10, 2), fixed={(1, 2, 0): "x"})
