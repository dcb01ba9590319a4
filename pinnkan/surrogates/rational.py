"""Group-rational KAN (the Kolmogorov–Arnold Transformer's GR-KAN), made safe for PDE residuals.

A layer applies a learnable rational function to every input channel, the
channels split into ``groups`` groups that share one function each, and then a
linear map: ``y = W R(x) + c``. Each group's function is

    R(x) = P(x) / Q(x),  P(x) = sum_{j=0..5} a_j x^j,
                         Q(x) = 1 + S(x) + S(x)^2,  S(x) = sum_{k=1..4} b_k x^k

(numerator degree 5, four denominator coefficients, both by Horner's rule).

Why this denominator: KAT's ``1 + |S(x)|`` has a kink wherever S changes sign,
so R'' jumps there and a PDE residual built on second derivatives sees a
discontinuous, partly wrong function. ``1 + S + S^2 = (S + 1/2)^2 + 3/4`` is
smooth (a polynomial), never below 3/4 (no poles, whatever b), and — unlike
``1 + S^2`` — its gradient in b does not vanish at b = 0, so a denominator that
starts at 1 can still learn. R and its derivatives are continuous everywhere
(tested).

Initialisation, as KAT does it: (a, b) are a least-squares fit of R to a chosen
activation (``init``: identity, silu or tanh) on [-3, 3]; the linear weights are
normal with variance 1 / (fan_in E[R(x)^2]), x ~ N(0, 1), so that a layer
preserves the variance of standard-normal inputs; biases are zero.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.keys import Key, positive
from pinnkan.surrogates.base import Surrogate

INITS = ("identity", "silu", "tanh")
N_NUM, N_DEN = 6, 4  # a_0..a_5, b_1..b_4
FIT_RANGE = 3.0


def _target(name: str, x: np.ndarray) -> np.ndarray:
    if name == "identity":
        return x
    if name == "silu":
        return x / (1 + np.exp(-x))
    return np.tanh(x)


def rational_np(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """R(x) for one group's coefficients, numpy (the initial fit)."""
    p = np.polyval(a[::-1], x)
    s = x * np.polyval(b[::-1], x)
    return p / (1 + s + s * s)


@functools.cache
def initial_coefficients(name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(a, b) of the least-squares fit of R to the activation ``name`` on [-3, 3] (deterministic, cached)."""
    if name not in INITS:
        raise ValueError(f"unknown rational init {name!r}; known: {', '.join(INITS)}")
    if name == "identity":
        return (0.0, 1.0, 0.0, 0.0, 0.0, 0.0), (0.0,) * N_DEN
    from scipy.optimize import least_squares

    x = np.linspace(-FIT_RANGE, FIT_RANGE, 601)
    y = _target(name, x)
    a0 = np.polynomial.polynomial.polyfit(x, y, N_NUM - 1)
    fit = least_squares(
        lambda th: rational_np(th[:N_NUM], th[N_NUM:], x) - y,
        np.concatenate([a0, np.zeros(N_DEN)]),
        method="lm",
        xtol=1e-14,
        ftol=1e-14,
    )
    return tuple(fit.x[:N_NUM].tolist()), tuple(fit.x[N_NUM:].tolist())


def second_moment(name: str) -> float:
    """E[R(x)^2] for x ~ N(0, 1) with the initial coefficients (Gauss–Hermite quadrature)."""
    a, b = (np.asarray(c) for c in initial_coefficients(name))
    x, w = np.polynomial.hermite_e.hermegauss(80)
    return float((w * rational_np(a, b, x) ** 2).sum() / w.sum())


def _horner(c: Tensor, x: Tensor, order: int) -> tuple[Tensor, Tensor, Tensor]:
    """sum_j c[:, j] x^j and its first two derivatives (the second only for order >= 2) at x (N, C); c (C, K)."""
    p, p1, p2 = c[:, -1].expand_as(x), torch.zeros_like(x), torch.zeros_like(x)
    for j in range(c.shape[1] - 2, -1, -1):
        if order >= 2:
            p2 = p2 * x + 2 * p1
        p1 = p1 * x + p
        p = p * x + c[:, j]
    return p, p1, p2


def _poly_derivatives(c: Tensor, x: Tensor, order: int) -> list[Tensor]:
    """sum_j c[:, j] x^j and its derivatives 0..order at x (N, C); c (C, K): Horner on each derivative's
    coefficients."""
    out = []
    coef = c
    for _ in range(order + 1):
        if coef.shape[1] == 0:
            out.append(torch.zeros_like(x))
            continue
        p = coef[:, -1].expand_as(x)
        for j in range(coef.shape[1] - 2, -1, -1):
            p = p * x + coef[:, j]
        out.append(p)
        coef = coef[:, 1:] * torch.arange(1, coef.shape[1], dtype=c.dtype, device=c.device)
    return out


def _rational_any_order(x: Tensor, a: Tensor, b: Tensor, order: int) -> list[Tensor]:
    """R^(j), j = 0..order, for any order: Leibniz on P = R Q gives
    R^(n) = (P^(n) - sum_{i=1..n} C(n, i) Q^(i) R^(n-i)) / Q, with S = x T,
    S^(j) = x T^(j) + j T^(j-1) and Q^(j) = S^(j) + sum_i C(j, i) S^(i) S^(j-i) (+ 1 for j = 0)."""
    from math import comb

    p = _poly_derivatives(a, x, order)
    t = _poly_derivatives(b, x, order)
    s = [x * t[0]] + [x * t[j] + j * t[j - 1] for j in range(1, order + 1)]
    q = [s[j] + sum(comb(j, i) * s[i] * s[j - i] for i in range(j + 1)) for j in range(order + 1)]
    q[0] = q[0] + 1
    r: list[Tensor] = []
    for n in range(order + 1):
        num = p[n]
        for i in range(1, n + 1):
            num = num - comb(n, i) * q[i] * r[n - i]
        r.append(num / q[0])
    return r


def rational_derivatives(x: Tensor, a: Tensor, b: Tensor, order: int) -> list[Tensor]:
    """R, R', ..., R^(order) at x (N, C); a (C, 6), b (C, 4) per channel.

    R' = (P' - R Q') / Q and R'' = (P'' - 2 R' Q' - R Q'') / Q, with
    Q = 1 + S + S^2, Q' = S' (1 + 2S), Q'' = S'' (1 + 2S) + 2 S'^2; higher orders by
    :func:`_rational_any_order`.
    """
    if order > 2:
        return _rational_any_order(x, a, b, order)
    p, p1, p2 = _horner(a, x, order)
    # S(x) = x (b_1 + x (b_2 + x (b_3 + x b_4))): Horner on T = S / x, then S = x T
    t, t1, t2 = _horner(b, x, order)
    s = x * t
    q = 1 + s + s * s
    r = p / q
    out = [r]
    if order >= 1:
        s1 = t + x * t1
        u = 1 + 2 * s
        q1 = s1 * u
        r1 = (p1 - r * q1) / q
        out.append(r1)
        if order >= 2:
            s2 = 2 * t1 + x * t2
            q2 = s2 * u + 2 * s1 * s1
            out.append((p2 - 2 * r1 * q1 - r * q2) / q)
    return out


class GroupRational(nn.Module):
    """R_g applied to each channel of (N, C), the channels in ``groups`` contiguous groups.

    Parameters ``numerator`` (G, 6) and ``denominator`` (G, 4).
    """

    def __init__(self, channels: int, groups: int = 8, init: str = "silu") -> None:
        super().__init__()
        self.channels, self.groups = channels, min(groups, channels)
        a, b = initial_coefficients(init)
        self.numerator = nn.Parameter(torch.tensor(a).repeat(self.groups, 1))
        self.denominator = nn.Parameter(torch.tensor(b).repeat(self.groups, 1))
        self.register_buffer("group_of", torch.arange(channels) * self.groups // channels, persistent=False)
        # fused: one autograd node for the jet on the device's kernels (rational_jet.py: numba on the CPU,
        # Triton on CUDA); False: PyTorch ops, the reference the node is tested against
        self.fused = True

    def coefficients(self) -> tuple[Tensor, Tensor]:
        """(C, 6), (C, 4): each channel's group's coefficients."""
        return self.numerator[self.group_of], self.denominator[self.group_of]

    def forward(self, x: Tensor) -> Tensor:
        return rational_derivatives(x, *self.coefficients(), 0)[0]

    def rows(self, r: Rows) -> Rows:
        from pinnkan.surrogates import rational_jet

        if not r.layout.keys:
            return r.like(self.forward(r.value).unsqueeze(1))
        if self.fused and r.standard is not None and rational_jet.backend_for(r.rows) != "torch":
            out = rational_jet.RationalJet.apply(
                r.rows, self.numerator, self.denominator, self.group_of, r.dim, r.laplacian
            )
            return r.like(out)
        return r.pointwise(rational_derivatives(r.value, *self.coefficients(), r.order))


class RationalLayer(nn.Module):
    """(N, in) -> (N, out): group-rational activation of the inputs, then a linear map."""

    def __init__(self, n_in: int, n_out: int, groups: int = 8, init: str = "silu") -> None:
        super().__init__()
        self.rational = GroupRational(n_in, groups, init)
        self.linear = nn.Linear(n_in, n_out)
        nn.init.normal_(self.linear.weight, std=1.0 / math.sqrt(n_in * second_moment(init)))
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.linear(self.rational(x))

    def rows(self, r: Rows) -> Rows:
        return self.rational.rows(r).linear(self.linear.weight, self.linear.bias)


class RationalKAN(Surrogate):
    """widths [D, h1, ..., F] of group-rational KAN layers (rational activation, then linear)."""

    fused_standard = True
    kind = "rational"
    default_hidden = (32, 32)
    # `pinnkan solve poisson --model rational --optimizer adam+lbfgs --steps 300`: rel_l2 0.11 with
    # --lr 1e-3, 6.8e-3 with --lr 1e-2
    default_lr = 1e-2
    config_keys = {
        "groups": Key(
            "int", None, check=positive, help="channel groups sharing one rational function (rational; default 8)"
        ),
        "init": Key("str", None, INITS, help="activation the rational functions start as (rational; default silu)"),
    }

    def __init__(self, widths: Sequence[int], lo: Tensor, hi: Tensor, groups: int = 8, init: str = "silu") -> None:
        super().__init__(lo, hi)
        if init not in INITS:
            raise ValueError(f"unknown rational init {init!r}; known: {', '.join(INITS)}")
        self.widths, self.groups, self.init = list(widths), groups, init
        self.layers = nn.ModuleList(RationalLayer(a, b, groups, init) for a, b in zip(widths[:-1], widths[1:]))

    def body(self, z: Tensor) -> Tensor:
        for layer in self.layers:
            z = layer(z)
        return z

    def body_jet(self, r: Rows) -> Rows:
        for layer in self.layers:
            r = layer.rows(r)
        return r

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths, "groups": self.groups, "init": self.init}
