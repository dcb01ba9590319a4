"""Snap a trained KAN to a formula: fit every edge, build the symbolic network, refine it on the PDE.

::

    result = symbolic(problem, model, cfg)      # cfg: the run's resolved configuration
    print(result.formula[0], result.errors["rel_l2"])

1. Every live edge is sampled over the inputs it sees at the run's collocation
   points and fitted by ``a + b f(c x + d)`` for every function of the library
   (:mod:`pinnkan.interpret.fit`); the simplest function within tolerance of the
   best R^2 wins, unless the user fixed that edge.
2. The edges become a :class:`SymbolicKAN`, whose constants are then trained on the
   run's own PDE loss by Levenberg–Marquardt (so the formula solves the PDE, not
   only fits the network).
3. The formula is written with sympy; constants within ``snap_tolerance`` of a
   simple number (a small rational, or a rational multiple of pi) are replaced by
   it, and that exact form is kept only if its error is no worse than the refined one's.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
import torch
from torch import Tensor

from pinnkan.errors import UserError
from pinnkan.interpret.edges import layer_edges, require_kan
from pinnkan.interpret.fit import EdgeFit, choose, fit_edge
from pinnkan.interpret.formula import SymbolicKAN
from pinnkan.interpret.library import LIBRARY, function, lookup
from pinnkan.jet import compute_jet
from pinnkan.metrics import ErrorTracker, error_figures
from pinnkan.problem import Problem
from pinnkan.surrogates import Surrogate

DEFAULT_LIBRARY = tuple(LIBRARY)
N_FIT_POINTS = 1000


@dataclass
class EdgeChoice:
    """Edge ``i -> o`` of layer ``layer``: the chosen fit, and every candidate's (best R^2 first)."""

    layer: int
    i: int
    o: int
    chosen: EdgeFit
    candidates: list[EdgeFit]
    fixed: bool = False
    importance: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        c = self.chosen
        return {
            "edge": f"{self.layer},{self.i},{self.o}",
            "function": c.name,
            "a": c.a,
            "b": c.b,
            "c": c.c,
            "d": c.d,
            "r2": c.r2,
            "fixed": self.fixed,
            "importance": self.importance,
            "candidates": {f.name: f.r2 for f in self.candidates},
        }


@dataclass
class SymbolicResult:
    """The snapped edges, the refined symbolic network, its formula (one per field) and its errors."""

    edges: list[EdgeChoice]
    model: SymbolicKAN
    formula: list[sympy.Expr]
    errors_snapped: dict[str, float]
    errors: dict[str, float]
    residual: dict[str, float]
    exact_form: bool
    history: list[dict[str, Any]] = field(default_factory=list)


def split_library(text: str) -> tuple[str, ...]:
    """``"sin,x^2,sin(x**2)"`` -> its names; commas inside parentheses belong to a formula."""
    names, depth, current = [], 0, ""
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += ch
    names.append(current.strip())
    return tuple(n for n in names if n)


def parse_fixed(items: list[str]) -> dict[tuple[int, int, int], str]:
    """``["0,1,0=x^2", ...]`` (layer, input, output = function) -> {(0, 1, 0): "x^2"}."""
    out = {}
    for item in items:
        key, sep, name = item.partition("=")
        try:
            layer, i, o = (int(v) for v in key.split(","))
        except ValueError:
            raise UserError(f"--fix {item!r} must look like LAYER,IN,OUT=FUNCTION, e.g. 0,1,0=x^2") from None
        if not sep or not name.strip():
            raise UserError(f"--fix {item!r} must look like LAYER,IN,OUT=FUNCTION, e.g. 0,1,0=x^2")
        try:
            function(name.strip())
        except ValueError as exc:
            raise UserError(f"--fix {item!r}: {exc}") from None
        out[(layer, i, o)] = name.strip()
    return out


def sample_points(problem: Problem, cfg: dict[str, dict[str, Any]], n: int = N_FIT_POINTS) -> Tensor:
    """(n, D) interior points of the run's domain (its seed and sampling), float64."""
    data = cfg["data"]
    return torch.as_tensor(problem.interior(n, cfg["run"]["seed"], data.get("sampling", "sobol")), dtype=torch.float64)


def snap(
    model: Surrogate,
    x: Tensor,
    library: tuple[str, ...] = DEFAULT_LIBRARY,
    fixed: dict[tuple[int, int, int], str] | None = None,
    tolerance: float = 1e-3,
) -> list[EdgeChoice]:
    """Fit every live edge of the KAN ``model`` at the points x (N, D); pruned edges become ``"0"`` (a = 0)."""
    kan = require_kan(model, "symbolic snapping")
    try:
        functions = lookup(tuple(library))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    fixed = dict(fixed or {})
    complexity = {name: fn.complexity for name, fn in functions.items()}
    edges = layer_edges(kan.double(), x.double())
    for key in fixed:
        layer, i, o = key
        if not (0 <= layer < len(edges) and 0 <= i < kan.widths[layer] and 0 <= o < kan.widths[layer + 1]):
            raise UserError(f"--fix {layer},{i},{o}: no such edge in a KAN of widths {kan.widths}")
    choices = []
    for layer, e in enumerate(edges):
        importance = e.importance
        for o in range(e.values.shape[2]):
            for i in range(e.values.shape[1]):
                if e.mask[o, i] == 0:
                    zero = EdgeFit("0", 0.0, 0.0, 1.0, 0.0, 1.0)
                    choices.append(EdgeChoice(layer, i, o, zero, [zero], True, 0.0))
                    continue
                xs = e.inputs[:, i].cpu().numpy()
                ys = e.values[:, i, o].cpu().numpy()
                name = fixed.get((layer, i, o))
                if name is not None:
                    fit = fit_edge(function(name), xs, ys)
                    cands = [fit]
                else:
                    cands = sorted((fit_edge(fn, xs, ys) for fn in functions.values()), key=lambda f: -f.r2)
                    fit = choose([f for f in cands if math.isfinite(f.r2)] or cands[:1], complexity, tolerance)
                choices.append(EdgeChoice(layer, i, o, fit, cands, name is not None, float(importance[o, i])))
    return choices


def build_symbolic(model: Surrogate, choices: list[EdgeChoice]) -> SymbolicKAN:
    """The symbolic network of the chosen edges, on the KAN's input box, float64."""
    kan = require_kan(model, "symbolic snapping")
    names, params = [], []
    for n_in, n_out in zip(kan.widths[:-1], kan.widths[1:]):
        names.append([["0"] * n_in for _ in range(n_out)])
        params.append(torch.zeros(n_out, n_in, 4, dtype=torch.float64))
        params[-1][..., 2] = 1.0
    for ch in choices:
        names[ch.layer][ch.o][ch.i] = ch.chosen.name
        params[ch.layer][ch.o, ch.i] = torch.tensor(ch.chosen.params(), dtype=torch.float64)
    lo, hi = kan.box()
    with torch.random.fork_rng(devices=[]):
        sym = SymbolicKAN(kan.widths, lo.double(), hi.double(), names, params)
    return sym.double()


def refine(
    problem: Problem, sym: SymbolicKAN, cfg: dict[str, dict[str, Any]], steps: int
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Train the symbolic network's constants on the run's PDE loss (lm, ``steps`` >= 1); errors and history."""
    from pinnkan.solve import train

    c = copy.deepcopy(cfg)
    c["train"].update(optimizer="lm", steps=steps, adam_steps=0, grids=[], restarts=1, max_time=0.0)
    c["run"].update(dtype="float64", device="cpu", derivatives="forward", progress=False, log_every=max(steps, 1))
    solution = train(problem, sym, c)
    return solution.errors, solution.history


def pde_residual(problem: Problem, model: Surrogate, x: Tensor) -> dict[str, float]:
    """Mean and max |PDE residual| of ``model`` at the points x (N, D)."""
    x = x.double()
    jet = compute_jet("forward", model, x, problem.jet_layout(), problem.coords, problem.fields, create_graph=False)
    r = problem.residual(x, jet).detach()
    return {"residual_mean": float(r.abs().mean()), "residual_max": float(r.abs().max())}


def simplify_constants(expr: sympy.Expr, tolerance: float) -> sympy.Expr:
    """Replace every float within ``tolerance`` (relative) of a small rational or rational x pi by it."""

    def snap_number(v: sympy.Float) -> sympy.Expr:
        f = float(v)
        if abs(f) < tolerance:
            return sympy.Integer(0)
        for base in (sympy.Integer(1), sympy.pi):
            ratio = f / float(base)
            q = sympy.Rational(ratio).limit_denominator(12)
            if abs(float(q) - ratio) <= tolerance * max(abs(ratio), 1.0):
                return q * base
        return v

    return expr.xreplace({n: snap_number(n) for n in expr.atoms(sympy.Float)})


# sympy.simplify's cost grows fast with the expression (minutes for a [2,3,1] formula): it
# runs only on formulas this small after expansion
SIMPLIFY_MAX_OPS = 40


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Expand (cheap; cancels what rounded constants make cancel), simplify when small; keep the shorter."""
    e = sympy.expand(expr)
    if sympy.count_ops(e) <= SIMPLIFY_MAX_OPS:
        e = sympy.simplify(e)
    return e if sympy.count_ops(e) <= sympy.count_ops(expr) else expr


def _round(expr: sympy.Expr, tolerance: float, passes: int = 4) -> sympy.Expr:
    """simplify_constants and simplify until nothing changes: simplifying combines constants into new ones."""
    for _ in range(passes):
        new = tidy(simplify_constants(expr, tolerance))
        if new == expr:
            break
        expr = new
    return expr


def formula_values(problem: Problem, exprs: list[sympy.Expr], x: np.ndarray) -> np.ndarray:
    """(N, len(exprs)): the formulas (in the problem's coordinates) at points x (N, D)."""
    symbols = sympy.symbols(list(problem.coords), real=True)
    cols = [np.broadcast_to(sympy.lambdify(symbols, e, "numpy")(*x.T), (len(x),)) for e in exprs]
    return np.stack(cols, axis=1).astype(np.float64)


def compare(problem: Problem, formula: sympy.Expr, expected: sympy.Expr, x: np.ndarray) -> tuple[bool, float]:
    """(sympy proves formula == expected, their relative L2 difference at points x (N, D)).

    The numbers come first: only formulas that agree to 1e-8 are handed to sympy.simplify.
    """
    f, g = formula_values(problem, [formula, expected], x).T
    diff = float(np.linalg.norm(f - g) / max(np.linalg.norm(g), 1e-300))
    if not diff <= 1e-8:
        return False, diff
    d = sympy.expand(sympy.expand_trig(formula - expected))
    return (d == 0 or (sympy.count_ops(d) <= SIMPLIFY_MAX_OPS and sympy.simplify(d) == 0)), diff


def formula_errors(problem: Problem, exprs: list[sympy.Expr], x: np.ndarray) -> dict[str, float] | None:
    """rel_l2 of the formulas (one per field) against the exact solution at points x (N, D)."""
    if not problem.has_exact:
        return None
    pred = formula_values(problem, exprs, x)
    exact = problem.exact(torch.as_tensor(x, dtype=torch.float64)).detach().numpy()
    return {"rel_l2": float(np.linalg.norm(pred - exact) / max(np.linalg.norm(exact), 1e-300))}


def symbolic(
    problem: Problem,
    model: Surrogate,
    cfg: dict[str, dict[str, Any]],
    library: tuple[str, ...] = DEFAULT_LIBRARY,
    fixed: dict[tuple[int, int, int], str] | None = None,
    steps: int = 50,
    tolerance: float = 1e-3,
    snap_tolerance: float = 1e-6,
) -> SymbolicResult:
    """Snap, build, refine and write the formula of the KAN ``model`` trained on ``problem`` (see module doc)."""
    order = max(layout.order for layout in problem.layouts())
    if order > 2:  # the library's functions carry their first two derivatives (refining trains on the residual)
        raise UserError(
            f"symbolic: {problem.name!r} needs derivatives of order {order}; the symbolic refinement handles "
            "residuals of order 2 at most"
        )
    x = sample_points(problem, cfg)
    choices = snap(model, x, library, fixed, tolerance)
    sym = build_symbolic(model, choices)
    errors_snapped = error_figures(ErrorTracker(problem, dtype=torch.float64)(sym, "forward"))
    errors, history = refine(problem, sym, cfg, steps) if steps > 0 else (errors_snapped, [])
    residual = pde_residual(problem, sym, x)
    exprs = [tidy(e) for e in sym.to_sympy(problem.coords)]
    exact_form = False
    test = problem.test_points()
    raw = formula_errors(problem, exprs, test)
    rounded = [_round(e, snap_tolerance) for e in exprs]
    if any(r != e for r, e in zip(rounded, exprs)):
        err = formula_errors(problem, rounded, test)
        if raw is None or (err is not None and err["rel_l2"] <= max(raw["rel_l2"], 1e-12)):
            exprs, exact_form = rounded, True
    return SymbolicResult(choices, sym, exprs, errors_snapped, errors, residual, exact_form, history)
