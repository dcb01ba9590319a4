"""Compiled CPU kernels (numba) for the Chebyshev KAN layer jet of chebyshev_jet.py.

Same math as the PyTorch path of :class:`pinnkan.surrogates.chebyshev_jet.ChebyshevLayerJet`.
Per point, the bases B_j = d^j/dh^j T_m(tanh h) (j = 0..3) of all the layer's
inputs are built at once, innermost loop over the inputs so that it vectorises:
T_m and its t-derivatives by the three-term recurrence, then the chain rule
through tanh (tanh itself comes in precomputed: numpy's vectorised tanh is many
times faster than a scalar one). Two ways to use them:

- wide layers: the stacked row basis A (N, S, M, in) is written out and the
  contractions with the coefficients are matmuls (``row_basis`` and its backward);
- narrow layers (few outputs, where those matmuls would be matrix-vector
  products): the edge derivatives p_j = sum_m B_j C are formed per point and the
  output rows accumulated from them, nothing of size (N, S, M, in) is stored
  (``narrow_forward`` / ``narrow_backward``; the backward recomputes the bases).

Coefficient gradients of the narrow kernels are summed per chunk of points, then added.
"""

from __future__ import annotations

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

if AVAILABLE:

    @njit(cache=True, inline="always")
    def _bases(th, n_m, tb, s, b):
        """b[j, m, i] = d^j/dh^j T_m(tanh h_i) for j = 0..3 from th = tanh(h) (in,).

        tb: scratch (4, M, in) for the t-derivatives; s: scratch (3, in) for tanh's derivatives.
        """
        n_in = th.shape[0]
        for i in range(n_in):
            t = th[i]
            s1 = 1.0 - t * t
            s[0, i] = s1
            s[1, i] = -2.0 * t * s1
            s[2, i] = s1 * (6.0 * t * t - 2.0)
            tb[0, 0, i] = 1.0
            tb[1, 0, i] = 0.0
            tb[2, 0, i] = 0.0
            tb[3, 0, i] = 0.0
        if n_m > 1:
            for i in range(n_in):
                tb[0, 1, i] = th[i]
                tb[1, 1, i] = 1.0
                tb[2, 1, i] = 0.0
                tb[3, 1, i] = 0.0
        for m in range(1, n_m - 1):
            for i in range(n_in):
                t2 = 2.0 * th[i]
                tb[0, m + 1, i] = t2 * tb[0, m, i] - tb[0, m - 1, i]
                tb[1, m + 1, i] = t2 * tb[1, m, i] + 2.0 * tb[0, m, i] - tb[1, m - 1, i]
                tb[2, m + 1, i] = t2 * tb[2, m, i] + 4.0 * tb[1, m, i] - tb[2, m - 1, i]
                tb[3, m + 1, i] = t2 * tb[3, m, i] + 6.0 * tb[2, m, i] - tb[3, m - 1, i]
        for m in range(n_m):
            for i in range(n_in):
                s1, s2, s3 = s[0, i], s[1, i], s[2, i]
                d1, d2 = tb[1, m, i], tb[2, m, i]
                b[0, m, i] = tb[0, m, i]
                b[1, m, i] = d1 * s1
                b[2, m, i] = d2 * s1 * s1 + d1 * s2
                b[3, m, i] = tb[3, m, i] * s1 * s1 * s1 + 3.0 * d2 * s1 * s2 + d1 * s3

    @njit(cache=True, inline="always")
    def _squares(rows, n, dim, n_sec, laplacian, sq):
        """sq[q, i]: dh_q^2, or sum_a dh_a^2 for a Laplacian row."""
        n_in = rows.shape[2]
        for q in range(n_sec):
            for i in range(n_in):
                sq[q, i] = 0.0
            for a in range(dim):
                if laplacian or a == q:
                    for i in range(n_in):
                        sq[q, i] += rows[n, 1 + a, i] * rows[n, 1 + a, i]

    @njit(cache=True, parallel=True, fastmath=True)
    def row_basis_kernel(rows, th, n_m, dim, laplacian, chunks, out):
        """rows (N, S, in), th = tanh(rows[:, 0]) (N, in) -> out (N, S, M, in):
        B_0; B_1 dh_a; B_2 sq_q + B_1 d2h_q."""
        n_pts, n_rows, n_in = rows.shape
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            tb = np.empty((4, n_m, n_in), dtype=rows.dtype)
            s = np.empty((3, n_in), dtype=rows.dtype)
            b = np.empty((4, n_m, n_in), dtype=rows.dtype)
            sq = np.empty((max(n_sec, 1), n_in), dtype=rows.dtype)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                _bases(th[n], n_m, tb, s, b)
                _squares(rows, n, dim, n_sec, laplacian, sq)
                for m in range(n_m):
                    for i in range(n_in):
                        out[n, 0, m, i] = b[0, m, i]
                    for a in range(dim):
                        for i in range(n_in):
                            out[n, 1 + a, m, i] = b[1, m, i] * rows[n, 1 + a, i]
                    for q in range(n_sec):
                        for i in range(n_in):
                            out[n, 1 + dim + q, m, i] = b[2, m, i] * sq[q, i] + b[1, m, i] * rows[n, 1 + dim + q, i]

    @njit(cache=True, parallel=True, fastmath=True)
    def row_basis_backward_kernel(rows, th, g_basis, dim, laplacian, chunks, g_rows):
        """g_basis (N, S, M, in), the gradient of row_basis_kernel's out -> g_rows (N, S, in).

        With g_j = sum_m g_basis B_j per row:
            gh = g_1[value] + sum_a g_2[grad a] dh_a + sum_q (g_3 sq_q + g_2 d2h_q)[second q]
            gdh_a = g_1[grad a] + 2 dh_a g_2[second a, or the Laplacian row];  gd2h_q = g_1[second q]
        """
        n_pts, n_rows, n_in = rows.shape
        n_m = g_basis.shape[2]
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            tb = np.empty((4, n_m, n_in), dtype=rows.dtype)
            s = np.empty((3, n_in), dtype=rows.dtype)
            b = np.empty((4, n_m, n_in), dtype=rows.dtype)
            sq = np.empty((max(n_sec, 1), n_in), dtype=rows.dtype)
            g = np.empty((3, n_in), dtype=rows.dtype)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                _bases(th[n], n_m, tb, s, b)
                _squares(rows, n, dim, n_sec, laplacian, sq)
                for i in range(n_in):
                    g[0, i] = 0.0
                for m in range(n_m):
                    for i in range(n_in):
                        g[0, i] += g_basis[n, 0, m, i] * b[1, m, i]
                for i in range(n_in):
                    g_rows[n, 0, i] = g[0, i]
                for a in range(dim):
                    for i in range(n_in):
                        g[0, i] = 0.0
                        g[1, i] = 0.0
                    for m in range(n_m):
                        for i in range(n_in):
                            gb = g_basis[n, 1 + a, m, i]
                            g[0, i] += gb * b[1, m, i]
                            g[1, i] += gb * b[2, m, i]
                    for i in range(n_in):
                        g_rows[n, 0, i] += g[1, i] * rows[n, 1 + a, i]
                        g_rows[n, 1 + a, i] = g[0, i]
                for q in range(n_sec):
                    for i in range(n_in):
                        g[0, i] = 0.0
                        g[1, i] = 0.0
                        g[2, i] = 0.0
                    for m in range(n_m):
                        for i in range(n_in):
                            gb = g_basis[n, 1 + dim + q, m, i]
                            g[0, i] += gb * b[1, m, i]
                            g[1, i] += gb * b[2, m, i]
                            g[2, i] += gb * b[3, m, i]
                    for a in range(dim):
                        if laplacian or a == q:
                            for i in range(n_in):
                                g_rows[n, 1 + a, i] += 2.0 * rows[n, 1 + a, i] * g[1, i]
                    for i in range(n_in):
                        g_rows[n, 0, i] += g[2, i] * sq[q, i] + g[1, i] * rows[n, 1 + dim + q, i]
                        g_rows[n, 1 + dim + q, i] = g[0, i]

    @njit(cache=True, parallel=True, fastmath=True)
    def narrow_forward_kernel(rows, th, coef, dim, laplacian, chunks, out):
        """rows (N, S, in), th (N, in), coef (out, M, in) -> out (N, S, out), for few outputs.

        Per point, p_j[i] = sum_m B_j[m, i] C[o, m, i] for each output o, then
        value = sum_i p_0, grad a = sum_i dh_a p_1, second q = sum_i sq_q p_2 + d2h_q p_1.
        """
        n_pts, n_rows, n_in = rows.shape
        n_out, n_m = coef.shape[0], coef.shape[1]
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            tb = np.empty((4, n_m, n_in), dtype=rows.dtype)
            s = np.empty((3, n_in), dtype=rows.dtype)
            b = np.empty((4, n_m, n_in), dtype=rows.dtype)
            sq = np.empty((max(n_sec, 1), n_in), dtype=rows.dtype)
            p = np.empty((3, n_in), dtype=rows.dtype)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                _bases(th[n], n_m, tb, s, b)
                _squares(rows, n, dim, n_sec, laplacian, sq)
                for o in range(n_out):
                    for i in range(n_in):
                        p[0, i] = 0.0
                        p[1, i] = 0.0
                        p[2, i] = 0.0
                    for m in range(n_m):
                        for i in range(n_in):
                            c = coef[o, m, i]
                            p[0, i] += b[0, m, i] * c
                            p[1, i] += b[1, m, i] * c
                            p[2, i] += b[2, m, i] * c
                    acc = 0.0
                    for i in range(n_in):
                        acc += p[0, i]
                    out[n, 0, o] = acc
                    for a in range(dim):
                        acc = 0.0
                        for i in range(n_in):
                            acc += rows[n, 1 + a, i] * p[1, i]
                        out[n, 1 + a, o] = acc
                    for q in range(n_sec):
                        acc = 0.0
                        for i in range(n_in):
                            acc += sq[q, i] * p[2, i] + rows[n, 1 + dim + q, i] * p[1, i]
                        out[n, 1 + dim + q, o] = acc

    @njit(cache=True, parallel=True, fastmath=True)
    def narrow_backward_kernel(rows, th, coef, dim, laplacian, g_out, g_rows, g_coef):
        """g_rows (N, S, in); g_coef (T, out, M, in): one slice per chunk of points, summed by the caller.

        Per output, with g_0 = gV, g_1[i] = sum_a dh_a gG_a + sum_q d2h_q gS_q, g_2[i] = sum_q sq_q gS_q:
        gh += g_0 p_1 + g_1 p_2 + g_2 p_3, gdh_a += gG_a p_1 + 2 dh_a gS p_2, gd2h_q += gS_q p_1,
        gC[o, m, i] += B_0 g_0 + B_1 g_1 + B_2 g_2.
        """
        n_pts, n_rows, n_in = rows.shape
        n_out, n_m = coef.shape[0], coef.shape[1]
        n_sec = n_rows - 1 - dim
        chunks = g_coef.shape[0]
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            tb = np.empty((4, n_m, n_in), dtype=rows.dtype)
            s = np.empty((3, n_in), dtype=rows.dtype)
            b = np.empty((4, n_m, n_in), dtype=rows.dtype)
            sq = np.empty((max(n_sec, 1), n_in), dtype=rows.dtype)
            p = np.empty((4, n_in), dtype=rows.dtype)
            g = np.empty((3, n_in), dtype=rows.dtype)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                _bases(th[n], n_m, tb, s, b)
                _squares(rows, n, dim, n_sec, laplacian, sq)
                for r in range(n_rows):
                    for i in range(n_in):
                        g_rows[n, r, i] = 0.0
                for o in range(n_out):
                    for i in range(n_in):
                        p[1, i] = 0.0
                        p[2, i] = 0.0
                        p[3, i] = 0.0
                    for m in range(n_m):
                        for i in range(n_in):
                            c = coef[o, m, i]
                            p[1, i] += b[1, m, i] * c
                            p[2, i] += b[2, m, i] * c
                            p[3, i] += b[3, m, i] * c
                    g0 = g_out[n, 0, o]
                    for i in range(n_in):
                        g[0, i] = g0
                        g[1, i] = 0.0
                        g[2, i] = 0.0
                    for a in range(dim):
                        gg = g_out[n, 1 + a, o]
                        for i in range(n_in):
                            g[1, i] += rows[n, 1 + a, i] * gg
                            g_rows[n, 1 + a, i] += gg * p[1, i]
                    for q in range(n_sec):
                        gs = g_out[n, 1 + dim + q, o]
                        for i in range(n_in):
                            g[1, i] += rows[n, 1 + dim + q, i] * gs
                            g[2, i] += sq[q, i] * gs
                            g_rows[n, 1 + dim + q, i] += gs * p[1, i]
                        for a in range(dim):
                            if laplacian or a == q:
                                for i in range(n_in):
                                    g_rows[n, 1 + a, i] += 2.0 * rows[n, 1 + a, i] * gs * p[2, i]
                    for i in range(n_in):
                        g_rows[n, 0, i] += g[0, i] * p[1, i] + g[1, i] * p[2, i] + g[2, i] * p[3, i]
                    for m in range(n_m):
                        for i in range(n_in):
                            g_coef[t, o, m, i] += b[0, m, i] * g[0, i] + b[1, m, i] * g[1, i] + b[2, m, i] * g[2, i]


_np = as_numpy


def row_basis(rows, n_m: int, dim: int, laplacian: bool):
    """rows (N, S, in) torch tensor -> the stacked row basis (N, S, M, in)."""
    import torch

    n, s, n_in = rows.shape
    out = torch.empty(n, s, n_m, n_in, dtype=rows.dtype)
    row_basis_kernel(_np(rows), np.tanh(_np(rows[:, 0])), n_m, dim, laplacian, chunks_for(n), out.numpy())
    return out


def row_basis_backward(rows, g_basis, dim: int, laplacian: bool):
    """The gradient (N, S, in) of the rows from that of their row basis (N, S, M, in)."""
    import torch

    g_rows = torch.empty_like(rows)
    th = np.tanh(_np(rows[:, 0]))
    row_basis_backward_kernel(_np(rows), th, _np(g_basis), dim, laplacian, chunks_for(rows.shape[0]), g_rows.numpy())
    return g_rows


def narrow_forward(rows, coef, dim: int, laplacian: bool):
    """rows (N, S, in), coef (out, in, M) torch tensors -> rows (N, S, out), without the row basis."""
    import torch

    n, s, _ = rows.shape
    out = torch.empty(n, s, coef.shape[0], dtype=rows.dtype)
    th = np.tanh(_np(rows[:, 0]))
    narrow_forward_kernel(_np(rows), th, _np(coef.transpose(1, 2)), dim, laplacian, chunks_for(n), out.numpy())
    return out


def narrow_backward(rows, coef, dim: int, laplacian: bool, g_out):
    """Gradients (rows (N, S, in), coef (out, in, M)) of :func:`narrow_forward`."""
    import torch

    n, s, n_in = rows.shape
    chunks = chunks_for(n)
    g_rows = torch.empty_like(rows)
    g_coef = torch.zeros((chunks, coef.shape[0], coef.shape[2], n_in), dtype=rows.dtype)
    th = np.tanh(_np(rows[:, 0]))
    narrow_backward_kernel(
        _np(rows), th, _np(coef.transpose(1, 2)), dim, laplacian, _np(g_out), g_rows.numpy(), g_coef.numpy()
    )
    return g_rows, g_coef.sum(0).transpose(1, 2)
