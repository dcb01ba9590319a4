"""Compiled CPU kernels (numba) for the Chebyshev KAN layer jet of chebyshev_jet.py.

Same math as the PyTorch path of :class:`pinnkan.surrogates.chebyshev_jet.ChebyshevLayerJet`.
The kernels work on feature-major rows (in, S, N) — every input's rows are
contiguous runs over the points — in blocks of ``BLOCK`` points, so that every
innermost loop runs over a block's points and compiles to vector instructions;
all arithmetic stays in the tensors' dtype (float constants come in as an array
of it: a float literal would promote float32 to float64). Per block and input,
the bases B_j = d^j/dh^j T_m(tanh h) (j = 0..3) are built for all the block's
points at once: T_m and its t-derivatives by the three-term recurrence, then the
chain rule through tanh (tanh itself comes in precomputed: numpy's vectorised
tanh is many times faster than a scalar one). Two ways to use them:

- wide layers: the stacked row basis A (in, M, S, N) is written out and the
  contractions with the coefficients (out, in * M) are matmuls over it
  (``row_basis`` and its backward);
- narrow layers (few outputs, where those matmuls would be matrix-vector
  products): the edge derivatives p_j = sum_m B_j C are formed per block and the
  output rows accumulated from them, nothing of size (in, M, S, N) is stored
  (``narrow_forward`` / ``narrow_backward``; the backward recomputes the bases).

Coefficient gradients of the narrow kernels are summed per chunk of points, then added.
"""

from __future__ import annotations

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

# points per block: the kernels' innermost loops run over a block's points
BLOCK = 256
# 0, 1, 2, 3, 4, 6 in the kernels' dtype
_CONSTANTS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)

if AVAILABLE:

    @njit(cache=True, inline="always", error_model="numpy")
    def _bases(th, i, n0, nb, n_m, cst, tb, s, b):
        """b[j, m, p] = d^j/dh^j T_m(tanh h) at the points n0 + p (p < nb) of input i, j = 0..3, from
        th = tanh(h) (in, N). tb: scratch (4, M, BLOCK) for the t-derivatives; s: (3, BLOCK) for tanh's."""
        zero, one, two, three, four, six = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5]
        for p in range(nb):
            t = th[i, n0 + p]
            s1 = one - t * t
            s[0, p] = s1
            s[1, p] = -two * t * s1
            s[2, p] = s1 * (six * t * t - two)
            tb[0, 0, p] = one
            tb[1, 0, p] = zero
            tb[2, 0, p] = zero
            tb[3, 0, p] = zero
        if n_m > 1:
            for p in range(nb):
                tb[0, 1, p] = th[i, n0 + p]
                tb[1, 1, p] = one
                tb[2, 1, p] = zero
                tb[3, 1, p] = zero
        for m in range(1, n_m - 1):
            for p in range(nb):
                t2 = two * th[i, n0 + p]
                tb[0, m + 1, p] = t2 * tb[0, m, p] - tb[0, m - 1, p]
                tb[1, m + 1, p] = t2 * tb[1, m, p] + two * tb[0, m, p] - tb[1, m - 1, p]
                tb[2, m + 1, p] = t2 * tb[2, m, p] + four * tb[1, m, p] - tb[2, m - 1, p]
                tb[3, m + 1, p] = t2 * tb[3, m, p] + six * tb[2, m, p] - tb[3, m - 1, p]
        for m in range(n_m):
            for p in range(nb):
                s1, s2, s3 = s[0, p], s[1, p], s[2, p]
                d1, d2 = tb[1, m, p], tb[2, m, p]
                b[0, m, p] = tb[0, m, p]
                b[1, m, p] = d1 * s1
                b[2, m, p] = d2 * s1 * s1 + d1 * s2
                b[3, m, p] = tb[3, m, p] * s1 * s1 * s1 + three * d2 * s1 * s2 + d1 * s3

    @njit(cache=True, inline="always")
    def _scratch(n_m, n_sec, dt):
        """Per chunk: the bases' scratch tb (4, M, BLOCK), s (3, BLOCK), the bases b (4, M, BLOCK), squares sq."""
        return (
            np.empty((4, n_m, BLOCK), dt),
            np.empty((3, BLOCK), dt),
            np.empty((4, n_m, BLOCK), dt),
            np.empty((max(n_sec, 1), BLOCK), dt),
        )

    @njit(cache=True, inline="always", error_model="numpy")
    def _squares(rows, i, n0, nb, dim, n_sec, laplacian, cst, sq):
        """sq[q, p]: dh_q^2, or sum_a dh_a^2 for a Laplacian row, at the block's points of input i."""
        for q in range(n_sec):
            for p in range(nb):
                sq[q, p] = cst[0]
            for a in range(dim):
                if laplacian or a == q:
                    for p in range(nb):
                        v = rows[i, 1 + a, n0 + p]
                        sq[q, p] += v * v

    @njit(cache=True, inline="always", error_model="numpy")
    def _edge_sums(b, coef, o, i, j0, nb, zero, pj):
        """pj[j, p] = sum_m B_j[m, p] C[o, i, m] for j = j0..j0 + 2: edge i -> o's derivatives at the block."""
        for j in range(j0, j0 + 3):
            for p in range(nb):
                pj[j, p] = zero
        for m in range(coef.shape[2]):
            c = coef[o, i, m]
            for j in range(j0, j0 + 3):
                for p in range(nb):
                    pj[j, p] += b[j, m, p] * c

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def row_basis_kernel(rows, th, n_m, dim, laplacian, cst, chunks, out):
        """rows (in, S, N), th (in, N) -> out (in, M, S, N): B_0; B_1 dh_a; B_2 sq_q + B_1 d2h_q."""
        n_in, n_rows, n_pts = rows.shape
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        for t in prange(chunks):
            tb, s, b, sq = _scratch(n_m, n_sec, dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for i in range(n_in):
                    _bases(th, i, n0, nb, n_m, cst, tb, s, b)
                    _squares(rows, i, n0, nb, dim, n_sec, laplacian, cst, sq)
                    for m in range(n_m):
                        for p in range(nb):
                            out[i, m, 0, n0 + p] = b[0, m, p]
                        for a in range(dim):
                            for p in range(nb):
                                out[i, m, 1 + a, n0 + p] = b[1, m, p] * rows[i, 1 + a, n0 + p]
                        for q in range(n_sec):
                            r = 1 + dim + q
                            for p in range(nb):
                                out[i, m, r, n0 + p] = b[2, m, p] * sq[q, p] + b[1, m, p] * rows[i, r, n0 + p]

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def row_basis_backward_kernel(rows, th, g_basis, dim, laplacian, cst, chunks, g_rows):
        """g_basis (in, M, S, N), the gradient of row_basis_kernel's out -> g_rows (in, S, N).

        With g_j = sum_m g_basis B_j per row:
            gh = g_1[value] + sum_a g_2[grad a] dh_a + sum_q (g_3 sq_q + g_2 d2h_q)[second q]
            gdh_a = g_1[grad a] + 2 dh_a g_2[second a, or the Laplacian row];  gd2h_q = g_1[second q]
        """
        n_in, n_rows, n_pts = rows.shape
        n_m = g_basis.shape[1]
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        zero, two = cst[0], cst[2]
        for t in prange(chunks):
            tb, s, b, sq = _scratch(n_m, n_sec, dt)
            g = np.empty((4, BLOCK), dt)  # the value row's gradient, then g_1, g_2, g_3 of one row
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for i in range(n_in):
                    _bases(th, i, n0, nb, n_m, cst, tb, s, b)
                    _squares(rows, i, n0, nb, dim, n_sec, laplacian, cst, sq)
                    for p in range(nb):
                        g[0, p] = zero
                    for m in range(n_m):
                        for p in range(nb):
                            g[0, p] += g_basis[i, m, 0, n0 + p] * b[1, m, p]
                    for a in range(dim):
                        for p in range(nb):
                            g[1, p] = zero
                            g[2, p] = zero
                        for m in range(n_m):
                            for p in range(nb):
                                gb = g_basis[i, m, 1 + a, n0 + p]
                                g[1, p] += gb * b[1, m, p]
                                g[2, p] += gb * b[2, m, p]
                        for p in range(nb):
                            g[0, p] += g[2, p] * rows[i, 1 + a, n0 + p]
                            g_rows[i, 1 + a, n0 + p] = g[1, p]
                    for q in range(n_sec):
                        r = 1 + dim + q
                        for p in range(nb):
                            g[1, p] = zero
                            g[2, p] = zero
                            g[3, p] = zero
                        for m in range(n_m):
                            for p in range(nb):
                                gb = g_basis[i, m, r, n0 + p]
                                g[1, p] += gb * b[1, m, p]
                                g[2, p] += gb * b[2, m, p]
                                g[3, p] += gb * b[3, m, p]
                        for a in range(dim):
                            if laplacian or a == q:
                                for p in range(nb):
                                    g_rows[i, 1 + a, n0 + p] += two * rows[i, 1 + a, n0 + p] * g[2, p]
                        for p in range(nb):
                            g[0, p] += g[3, p] * sq[q, p] + g[2, p] * rows[i, r, n0 + p]
                            g_rows[i, r, n0 + p] = g[1, p]
                    for p in range(nb):
                        g_rows[i, 0, n0 + p] = g[0, p]

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def narrow_forward_kernel(rows, th, coef, dim, laplacian, cst, chunks, out):
        """rows (in, S, N), th (in, N), coef (out, in, M) -> out (out, S, N), for few outputs.

        Per block, p_j = sum_m B_j C[o, i, m] for each input i and output o, then
        value = sum_i p_0, grad a = sum_i dh_a p_1, second q = sum_i sq_q p_2 + d2h_q p_1.
        """
        n_in, n_rows, n_pts = rows.shape
        n_out, n_m = coef.shape[0], coef.shape[2]
        n_sec = n_rows - 1 - dim
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        zero = cst[0]
        for t in prange(chunks):
            tb, s, b, sq = _scratch(n_m, n_sec, dt)
            pj = np.empty((3, BLOCK), dt)
            acc = np.empty((n_out, n_rows, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for o in range(n_out):
                    for r in range(n_rows):
                        for p in range(nb):
                            acc[o, r, p] = zero
                for i in range(n_in):
                    _bases(th, i, n0, nb, n_m, cst, tb, s, b)
                    _squares(rows, i, n0, nb, dim, n_sec, laplacian, cst, sq)
                    for o in range(n_out):
                        _edge_sums(b, coef, o, i, 0, nb, zero, pj)
                        for p in range(nb):
                            acc[o, 0, p] += pj[0, p]
                        for a in range(dim):
                            for p in range(nb):
                                acc[o, 1 + a, p] += rows[i, 1 + a, n0 + p] * pj[1, p]
                        for q in range(n_sec):
                            r = 1 + dim + q
                            for p in range(nb):
                                acc[o, r, p] += sq[q, p] * pj[2, p] + rows[i, r, n0 + p] * pj[1, p]
                for o in range(n_out):
                    for r in range(n_rows):
                        for p in range(nb):
                            out[o, r, n0 + p] = acc[o, r, p]

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def narrow_backward_kernel(rows, th, coef, dim, laplacian, cst, g_out, want_rows, g_rows, g_coef):
        """g_out (out, S, N) -> g_rows (in, S, N) (untouched unless want_rows); g_coef (T, out, in, M): one slice
        per chunk of points, summed by the caller.

        Per output, with G_0 = gV, G_1 = sum_a dh_a gG_a + sum_q d2h_q gS_q, G_2 = sum_q sq_q gS_q:
        gh += G_0 p_1 + G_1 p_2 + G_2 p_3, gdh_a += gG_a p_1 + 2 dh_a gS p_2, gd2h_q += gS_q p_1,
        gC[o, i, m] += sum over points of B_0 G_0 + B_1 G_1 + B_2 G_2.
        """
        n_in, n_rows, n_pts = rows.shape
        n_out, n_m = coef.shape[0], coef.shape[2]
        n_sec = n_rows - 1 - dim
        chunks = g_coef.shape[0]
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        zero, two = cst[0], cst[2]
        for t in prange(chunks):
            tb, s, b, sq = _scratch(n_m, n_sec, dt)
            pj = np.empty((4, BLOCK), dt)
            gg = np.empty((3, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for i in range(n_in):
                    _bases(th, i, n0, nb, n_m, cst, tb, s, b)
                    _squares(rows, i, n0, nb, dim, n_sec, laplacian, cst, sq)
                    if want_rows:
                        for r in range(n_rows):
                            for p in range(nb):
                                g_rows[i, r, n0 + p] = zero
                    for o in range(n_out):
                        for p in range(nb):
                            gg[0, p] = g_out[o, 0, n0 + p]
                            gg[1, p] = zero
                            gg[2, p] = zero
                        for a in range(dim):
                            for p in range(nb):
                                gg[1, p] += rows[i, 1 + a, n0 + p] * g_out[o, 1 + a, n0 + p]
                        for q in range(n_sec):
                            r = 1 + dim + q
                            for p in range(nb):
                                gs = g_out[o, r, n0 + p]
                                gg[1, p] += rows[i, r, n0 + p] * gs
                                gg[2, p] += sq[q, p] * gs
                        for m in range(n_m):
                            acc = zero
                            for p in range(nb):
                                acc += b[0, m, p] * gg[0, p] + b[1, m, p] * gg[1, p] + b[2, m, p] * gg[2, p]
                            g_coef[t, o, i, m] += acc
                        if not want_rows:
                            continue
                        _edge_sums(b, coef, o, i, 1, nb, zero, pj)
                        for p in range(nb):
                            g_rows[i, 0, n0 + p] += gg[0, p] * pj[1, p] + gg[1, p] * pj[2, p] + gg[2, p] * pj[3, p]
                        for a in range(dim):
                            for p in range(nb):
                                g_rows[i, 1 + a, n0 + p] += g_out[o, 1 + a, n0 + p] * pj[1, p]
                        for q in range(n_sec):
                            r = 1 + dim + q
                            for a in range(dim):
                                if laplacian or a == q:
                                    for p in range(nb):
                                        g_rows[i, 1 + a, n0 + p] += (
                                            two * rows[i, 1 + a, n0 + p] * g_out[o, r, n0 + p] * pj[2, p]
                                        )
                            for p in range(nb):
                                g_rows[i, r, n0 + p] += g_out[o, r, n0 + p] * pj[1, p]


_np = as_numpy


def _constants(dtype) -> np.ndarray:
    return np.array(_CONSTANTS, dtype=dtype)


def feature_major(rows):
    """(N, S, C) rows as a contiguous (C, S, N) tensor (free when they are a transposed view of one)."""
    return rows.permute(2, 1, 0).contiguous()


def tanh_values(fm) -> np.ndarray:
    """tanh of the value rows (C, N) of feature-major rows (C, S, N)."""
    return np.ascontiguousarray(np.tanh(fm[:, 0].numpy()))


def row_basis(fm, th: np.ndarray, n_m: int, dim: int, laplacian: bool):
    """Feature-major rows (in, S, N) -> the stacked row basis (in, M, S, N)."""
    import torch

    n_in, s, n = fm.shape
    out = torch.empty(n_in, n_m, s, n, dtype=fm.dtype)
    cst = _constants(th.dtype)
    row_basis_kernel(_np(fm), th, n_m, dim, laplacian, cst, chunks_for(n), out.numpy())
    return out


def row_basis_backward(fm, th: np.ndarray, g_basis, dim: int, laplacian: bool):
    """The gradient (in, S, N) of feature-major rows from that of their row basis (in, M, S, N)."""
    import torch

    g_rows = torch.empty_like(fm)
    cst = _constants(th.dtype)
    row_basis_backward_kernel(_np(fm), th, _np(g_basis), dim, laplacian, cst, chunks_for(fm.shape[2]), g_rows.numpy())
    return g_rows


def narrow_forward(fm, th: np.ndarray, coef, dim: int, laplacian: bool):
    """Feature-major rows (in, S, N), coef (out, in, M) -> rows (out, S, N), without the row basis."""
    import torch

    _, s, n = fm.shape
    out = torch.empty(coef.shape[0], s, n, dtype=fm.dtype)
    cst = _constants(th.dtype)
    narrow_forward_kernel(_np(fm), th, _np(coef), dim, laplacian, cst, chunks_for(n), out.numpy())
    return out


def narrow_backward(fm, th: np.ndarray, coef, dim: int, laplacian: bool, g_out, want_rows: bool = True):
    """Gradients (rows (in, S, N) or None, coef (out, in, M)) of :func:`narrow_forward`; g_out (out, S, N)."""
    import torch

    n = fm.shape[2]
    chunks = chunks_for(n)
    g_rows = torch.empty_like(fm) if want_rows else fm.new_empty((1, 1, 1))
    g_coef = torch.zeros((chunks,) + tuple(coef.shape), dtype=fm.dtype)
    cst = _constants(th.dtype)
    narrow_backward_kernel(
        _np(fm), th, _np(coef), dim, laplacian, cst, _np(g_out), want_rows, g_rows.numpy(), g_coef.numpy()
    )
    return (g_rows if want_rows else None), g_coef.sum(0)
