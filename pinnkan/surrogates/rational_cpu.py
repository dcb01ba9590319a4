"""Compiled CPU kernels (numba) for the jet of a group-rational activation (the node: rational_jet.py).

The activation R = P / Q, Q = 1 + S + S^2 (rational.py) acts on every channel of
the jet rows (N, S, C): value R(h), gradient rows R'(h) dh_a, second-order rows
R''(h) sq + R'(h) d2h (sq = dh_a^2, or its sum over a for a Laplacian row). Per
point and channel the kernels evaluate P, S and their derivatives by Horner's
rule and form

    R' = (P' - R Q') / Q,   R'' = (P'' - 2 R' Q' - R Q'') / Q,
    Q' = S' u,  Q'' = S'' u + 2 S'^2,  u = 1 + 2 S.

The backward runs that small computation in reverse (adjoints of R, R', R'' ->
of P^(k), Q^(k) -> of S^(k)), which gives the coefficient gradients
(dP^(k)/da_j = d^k x^j / dx^k, likewise for b) and the input gradient
(sum over k of adj(P^(k)) P^(k+1) + adj(S^(k)) S^(k+1)) without a third
derivative formula. Coefficient gradients are summed per chunk of points.
The plain PyTorch ops of :meth:`GroupRational.rows` (``fused = False``) are the
reference this is tested against.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

if AVAILABLE:

    @njit(cache=True, inline="always")
    def _horner(c, x, first, out):
        """out[k] = d^k/dx^k sum_j c[j] x^(j + first), k = 0..3 (first = 0 for P, 1 for S)."""
        p0 = c[c.shape[0] - 1]
        p1 = 0.0
        p2 = 0.0
        p3 = 0.0
        for j in range(c.shape[0] - 2, -1, -1):
            p3 = p3 * x + 3.0 * p2
            p2 = p2 * x + 2.0 * p1
            p1 = p1 * x + p0
            p0 = p0 * x + c[j]
        if first == 1:  # S = x T: S^(k) = x T^(k) + k T^(k-1)
            p3 = x * p3 + 3.0 * p2
            p2 = x * p2 + 2.0 * p1
            p1 = x * p1 + p0
            p0 = x * p0
        out[0], out[1], out[2], out[3] = p0, p1, p2, p3

    @njit(cache=True, inline="always")
    def _rational(num, den, x, pp, ss):
        """R, R', R'' at x and the pieces the backward reuses; fills pp (P^(k)) and ss (S^(k)), k = 0..3."""
        _horner(num, x, 0, pp)
        _horner(den, x, 1, ss)
        s0, s1, s2 = ss[0], ss[1], ss[2]
        u = 1.0 + 2.0 * s0
        q = 1.0 + s0 + s0 * s0
        q1 = s1 * u
        q2 = s2 * u + 2.0 * s1 * s1
        r0 = pp[0] / q
        r1 = (pp[1] - r0 * q1) / q
        r2 = (pp[2] - 2.0 * r1 * q1 - r0 * q2) / q
        return u, q, q1, q2, r0, r1, r2

    @njit(cache=True, parallel=True, fastmath=True)
    def forward_kernel(rows, num, den, group_of, dim, laplacian, chunks, out):
        """rows (N, S, C); num (G, 6), den (G, 4); group_of (C,) -> out (N, S, C)."""
        n_pts, n_rows, n_ch = rows.shape
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            pp = np.empty(4)
            ss = np.empty(4)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                for c in range(n_ch):
                    g = group_of[c]
                    x = rows[n, 0, c]
                    u, q, q1, q2, r0, r1, r2 = _rational(num[g], den[g], x, pp, ss)
                    out[n, 0, c] = r0
                    sq = 0.0
                    for a in range(dim):
                        dh = rows[n, 1 + a, c]
                        out[n, 1 + a, c] = r1 * dh
                        sq += dh * dh
                    for k in range(n_sec):
                        if not laplacian:
                            sq = rows[n, 1 + k, c] * rows[n, 1 + k, c]
                        out[n, 1 + dim + k, c] = r2 * sq + r1 * rows[n, 1 + dim + k, c]

    @njit(cache=True, parallel=True, fastmath=True)
    def backward_kernel(rows, num, den, group_of, dim, laplacian, g_out, g_rows, g_num, g_den):
        """g_rows (N, S, C); g_num (T, G, 6), g_den (T, G, 4): one slice per chunk, summed by the caller."""
        n_pts, n_rows, n_ch = rows.shape
        n_sec = n_rows - 1 - dim
        chunks = g_num.shape[0]
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            pp = np.empty(4)
            ss = np.empty(4)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                for c in range(n_ch):
                    g = group_of[c]
                    x = rows[n, 0, c]
                    u, q, q1, q2, r0, r1, r2 = _rational(num[g], den[g], x, pp, ss)
                    # upstream adjoints of R, R', R''
                    b0 = g_out[n, 0, c]
                    b1 = 0.0
                    b2 = 0.0
                    sqsum = 0.0
                    for a in range(dim):
                        dh = rows[n, 1 + a, c]
                        b1 += dh * g_out[n, 1 + a, c]
                        sqsum += dh * dh
                    for k in range(n_sec):
                        gs = g_out[n, 1 + dim + k, c]
                        sq = sqsum if laplacian else rows[n, 1 + k, c] * rows[n, 1 + k, c]
                        b1 += rows[n, 1 + dim + k, c] * gs
                        b2 += sq * gs
                    # inputs of the rows: dh and d2h
                    for a in range(dim):
                        k = 0 if laplacian else a
                        v = g_out[n, 1 + a, c] * r1
                        if n_sec > 0:
                            v += 2.0 * rows[n, 1 + a, c] * g_out[n, 1 + dim + k, c] * r2
                        g_rows[n, 1 + a, c] = v
                    for k in range(n_sec):
                        g_rows[n, 1 + dim + k, c] = g_out[n, 1 + dim + k, c] * r1
                    # reverse through R'' = (P'' - 2 R' Q' - R Q'') / Q, R' = (P' - R Q') / Q, R = P / Q
                    iq = 1.0 / q
                    bp2 = b2 * iq
                    b1 += -2.0 * q1 * b2 * iq
                    bq1 = -2.0 * r1 * b2 * iq
                    b0 += -q2 * b2 * iq
                    bq2 = -r0 * b2 * iq
                    bq = -r2 * b2 * iq
                    bp1 = b1 * iq
                    b0 += -q1 * b1 * iq
                    bq1 += -r0 * b1 * iq
                    bq += -r1 * b1 * iq
                    bp0 = b0 * iq
                    bq += -r0 * b0 * iq
                    # Q = 1 + S + S^2, Q' = S' u, Q'' = S'' u + 2 S'^2
                    s1, s2 = ss[1], ss[2]
                    bs0 = bq * u + 2.0 * s1 * bq1 + 2.0 * s2 * bq2
                    bs1 = bq1 * u + 4.0 * s1 * bq2
                    bs2 = bq2 * u
                    g_rows[n, 0, c] = bp0 * pp[1] + bp1 * pp[2] + bp2 * pp[3] + bs0 * s1 + bs1 * s2 + bs2 * ss[3]
                    # coefficients: d^k/dx^k x^j = j!/(j-k)! x^(j-k)
                    xp = 1.0  # x^j
                    xm1 = 0.0  # x^(j-1)
                    xm2 = 0.0  # x^(j-2)
                    for j in range(num.shape[1]):
                        g_num[t, g, j] += bp0 * xp + bp1 * j * xm1 + bp2 * j * (j - 1) * xm2
                        if 1 <= j <= den.shape[1]:
                            g_den[t, g, j - 1] += bs0 * xp + bs1 * j * xm1 + bs2 * j * (j - 1) * xm2
                        xm2 = xm1
                        xm1 = xp
                        xp = xp * x


_np = as_numpy


def usable(rows: Tensor) -> bool:
    """Whether the compiled kernels run for these rows (CPU tensors, numba present)."""
    return AVAILABLE and rows.device.type == "cpu"


def jet_forward(rows: Tensor, numerator: Tensor, denominator: Tensor, group_of: Tensor, dim: int, laplacian: bool):
    """rows (N, S, C), numerator (G, 6), denominator (G, 4), group_of (C,) -> rows (N, S, C)."""
    out = torch.empty_like(rows)
    chunks = chunks_for(rows.shape[0])
    forward_kernel(_np(rows), _np(numerator), _np(denominator), _np(group_of), dim, laplacian, chunks, out.numpy())
    return out


def jet_backward(rows, numerator, denominator, group_of, dim: int, laplacian: bool, g_out):
    """Gradients (rows, numerator, denominator) of :func:`jet_forward`."""
    chunks = chunks_for(rows.shape[0])
    g_rows = torch.empty_like(rows)
    g_num = torch.zeros((chunks,) + tuple(numerator.shape), dtype=rows.dtype)
    g_den = torch.zeros((chunks,) + tuple(denominator.shape), dtype=rows.dtype)
    backward_kernel(
        _np(rows),
        _np(numerator),
        _np(denominator),
        _np(group_of),
        dim,
        laplacian,
        _np(g_out),
        g_rows.numpy(),
        g_num.numpy(),
        g_den.numpy(),
    )
    return g_rows, g_num.sum(0), g_den.sum(0)
