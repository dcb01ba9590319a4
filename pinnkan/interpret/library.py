"""The symbolic functions an edge can be snapped to: ``a + b f(c x + d)``.

One entry per function: its torch and sympy forms, which of (c, d) it needs (the
others are fixed at c = 1, d = 0 because ``a`` and ``b`` absorb them: ``x`` needs
neither, ``x^2`` only the shift), the domain its argument must stay in, and a
complexity used to prefer the simpler of two equally good fits. A user's own
function is a formula in ``x`` (``"sin(x**2)"``): :func:`function` builds it with
sympy (its derivatives by ``sympy.diff``), complexity 5, c and d free.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import sympy
import torch
from torch import Tensor


@dataclass(frozen=True)
class SymbolicFunction:
    """``f`` of ``a + b f(c x + d)``; ``torch_fn`` maps a tensor elementwise, ``sympy_fn`` an expression."""

    name: str
    torch_fn: Callable[[Tensor], Tensor]
    sympy_fn: Callable[[sympy.Expr], sympy.Expr]
    complexity: int
    derivatives: Callable[[Tensor], tuple[Tensor, Tensor]]  # z -> (f'(z), f''(z))
    scale: bool = True  # c is free
    shift: bool = True  # d is free
    positive_domain: bool = False  # the argument must stay > 0
    nonzero_domain: bool = False  # the argument must stay away from 0

    def jet(self, z: Tensor, order: int) -> list[Tensor]:
        """[f(z), f'(z), f''(z)][: order + 1], elementwise."""
        out = [self.torch_fn(z)]
        if order >= 1:
            out.extend(self.derivatives(z)[:order])
        return out


def _tanh_derivatives(z: Tensor) -> tuple[Tensor, Tensor]:
    t = torch.tanh(z)
    d1 = 1 - t * t
    return d1, -2 * t * d1


ZERO = torch.zeros_like
ONE = torch.ones_like

LIBRARY: dict[str, SymbolicFunction] = {
    f.name: f
    for f in (
        SymbolicFunction("0", ZERO, lambda z: sympy.Integer(0), 0, lambda z: (ZERO(z), ZERO(z)), False, False),
        SymbolicFunction("x", lambda z: z, lambda z: z, 1, lambda z: (ONE(z), ZERO(z)), False, False),
        SymbolicFunction("x^2", lambda z: z * z, lambda z: z**2, 2, lambda z: (2 * z, 2 * ONE(z)), False, True),
        SymbolicFunction("x^3", lambda z: z**3, lambda z: z**3, 3, lambda z: (3 * z * z, 6 * z), False, True),
        SymbolicFunction("abs", torch.abs, sympy.Abs, 3, lambda z: (torch.sign(z), ZERO(z)), False, True),
        SymbolicFunction("exp", torch.exp, sympy.exp, 3, lambda z: (torch.exp(z), torch.exp(z)), True, False),
        SymbolicFunction("sin", torch.sin, sympy.sin, 3, lambda z: (torch.cos(z), -torch.sin(z))),
        SymbolicFunction("cos", torch.cos, sympy.cos, 3, lambda z: (-torch.sin(z), -torch.cos(z))),
        SymbolicFunction("tanh", torch.tanh, sympy.tanh, 4, _tanh_derivatives),
        SymbolicFunction(
            "sqrt", torch.sqrt, sympy.sqrt, 4, lambda z: (0.5 / torch.sqrt(z), -0.25 * z**-1.5), positive_domain=True
        ),
        SymbolicFunction("log", torch.log, sympy.log, 4, lambda z: (1 / z, -1 / (z * z)), positive_domain=True),
        SymbolicFunction(
            "1/x",
            torch.reciprocal,
            lambda z: 1 / z,
            4,
            lambda z: (-1 / (z * z), 2 / z**3),
            scale=False,
            nonzero_domain=True,
        ),
    )
}
"""Every function by name; ``"0"`` is the constant edge (``a`` alone)."""


def _as_function(f, z: Tensor) -> Tensor:
    """A lambdified expression's value as a tensor shaped like z (constants broadcast)."""
    return f(z) + torch.zeros_like(z)


@functools.lru_cache(maxsize=256)
def custom_function(text: str) -> SymbolicFunction:
    """A function of ``x`` written as a formula (e.g. ``"sin(x**2)"``), its derivatives by sympy.

    ValueError when sympy cannot read it or it depends on anything but x.
    """
    x = sympy.Symbol("x", real=True)
    try:
        expr = sympy.sympify(text, locals={"x": x})
    except (sympy.SympifyError, SyntaxError, TypeError) as exc:
        raise ValueError(f"symbolic function {text!r} is not a formula in x ({type(exc).__name__})") from None
    if not isinstance(expr, sympy.Expr) or not expr.free_symbols <= {x} or x not in expr.free_symbols:
        raise ValueError(f"symbolic function {text!r} must be a formula in x alone (e.g. sin(x**2))")
    d1 = sympy.diff(expr, x)
    d2 = sympy.diff(d1, x)
    f0, f1, f2 = (sympy.lambdify(x, e, modules="torch") for e in (expr, d1, d2))
    return SymbolicFunction(
        text,
        lambda z: _as_function(f0, z),
        lambda arg: expr.xreplace({x: arg}),
        5,
        lambda z: (_as_function(f1, z), _as_function(f2, z)),
    )


def function(name: str) -> SymbolicFunction:
    """A library function by name, or a formula in x (:func:`custom_function`); ValueError if neither."""
    if name in LIBRARY:
        return LIBRARY[name]
    try:
        return custom_function(name)
    except ValueError as exc:
        known = ", ".join(LIBRARY)
        raise ValueError(f"unknown symbolic function {name!r} (known: {known}; or a formula in x): {exc}") from None


def lookup(names: list[str] | tuple[str, ...]) -> dict[str, SymbolicFunction]:
    """The functions named (library names or formulas in x); ValueError for an unknown one or an empty list."""
    if not names:
        raise ValueError("the symbolic library is empty: give at least one function")
    return {n: function(n) for n in names}
