"""Derivatives of any order of the univariate functions surrogates are built from.

sigmoid and tanh have derivatives that are polynomials in their own value:
s' = s - s^2 and t' = 1 - t^2, so if f^(n) = sum_k c_k f^k then
f^(n+1) = sum_k k c_k f^(k-1) f'. The coefficient tables are built once by that
recursion and evaluated by Horner's rule; silu(x) = x s(x) has
silu^(n) = x s^(n) + n s^(n-1). :func:`compose` is the one-dimensional Faà di
Bruno formula (the derivatives of g(t(h)) from those of g and t).
"""

from __future__ import annotations

import functools

import numpy as np
from torch import Tensor

MAX_DERIVATIVE = 8


@functools.cache
def _poly_table(derivative: tuple[float, ...], n: int) -> np.ndarray:
    """(n + 1, n + 2) coefficients (lowest power first) of f^(0..n) as polynomials in f, f' = poly ``derivative``."""
    size = n + 2 + len(derivative)
    table = np.zeros((n + 1, size))
    table[0, 1] = 1.0
    for m in range(n):
        for k in range(1, size):
            c = table[m, k]
            if c == 0.0:
                continue
            for p, dc in enumerate(derivative):  # k c f^(k-1) * sum_p dc f^p
                if k - 1 + p < size:
                    table[m + 1, k - 1 + p] += k * c * dc
    return table


SIGMOID_DERIVATIVE = (0.0, 1.0, -1.0)  # s' = s - s^2
TANH_DERIVATIVE = (1.0, 0.0, -1.0)  # t' = 1 - t^2


def poly_table(kind: str, n: int) -> np.ndarray:
    """Coefficients of sigmoid (``kind="sigmoid"``) or tanh derivatives 0..n as polynomials in their value."""
    if n > MAX_DERIVATIVE:
        raise ValueError(f"derivatives of order {n} > {MAX_DERIVATIVE} are not tabulated")
    return _poly_table(SIGMOID_DERIVATIVE if kind == "sigmoid" else TANH_DERIVATIVE, n)


def _horner(coefs: np.ndarray, f: Tensor) -> Tensor:
    nz = np.nonzero(coefs)[0]
    if len(nz) == 0:
        return f * 0.0
    out = f * 0.0 + float(coefs[nz[-1]])
    for k in range(nz[-1] - 1, -1, -1):
        out = out * f + float(coefs[k]) if coefs[k] != 0.0 else out * f
    return out


def sigmoid_derivatives(s: Tensor, order: int) -> list[Tensor]:
    """sigmoid^(j) for j = 0..order, from the sigmoid values s."""
    table = poly_table("sigmoid", order)
    return [s] + [_horner(table[j], s) for j in range(1, order + 1)]


def tanh_derivatives(t: Tensor, order: int) -> list[Tensor]:
    """tanh^(j) for j = 0..order, from the tanh values t."""
    table = poly_table("tanh", order)
    return [t] + [_horner(table[j], t) for j in range(1, order + 1)]


def silu_derivatives_from(h: Tensor, s: Tensor, order: int) -> list[Tensor]:
    """silu^(j)(h) for j = 0..order, given s = sigmoid(h)."""
    sd = sigmoid_derivatives(s, order)
    return [h * sd[0]] + [h * sd[j] + j * sd[j - 1] for j in range(1, order + 1)]


def compose(outer: list[Tensor], inner: list[Tensor]) -> list[Tensor]:
    """d^j/dh^j g(t(h)) for j = 0..J from outer = [g, g', ..., g^(J)] at t(h) and inner = [t, t', ..., t^(J)].

    One-dimensional Faà di Bruno: (g o t)^(j) = sum_k g^(k) B_{j,k}(t', t'', ...), with the partial Bell
    polynomials B built by the recursion B_{j,k} = sum_i C(j-1, i-1) t^(i) B_{j-i,k-1}. ``outer``'s entries
    may carry extra trailing dimensions (broadcast against ``inner``'s).
    """
    from math import comb

    order = len(inner) - 1
    bell: dict[tuple[int, int], Tensor | float] = {(0, 0): 1.0}
    out = [outer[0]]
    for j in range(1, order + 1):
        total = None
        for k in range(1, j + 1):
            b: Tensor | float = 0.0
            for i in range(1, j - k + 2):
                prev = bell.get((j - i, k - 1))
                if prev is None or (isinstance(prev, float) and prev == 0.0):
                    continue
                b = b + comb(j - 1, i - 1) * inner[i] * prev
            bell[(j, k)] = b
            if isinstance(b, float) and b == 0.0:
                continue
            term = outer[k] * (b.unsqueeze(-1) if outer[k].dim() > b.dim() else b)
            total = term if total is None else total + term
        out.append(total)
    return out
