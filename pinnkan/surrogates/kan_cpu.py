"""Compiled CPU kernels (numba) for the fused KAN-layer jet of kan_jet.py.

Same math as :class:`pinnkan.surrogates.kan_jet.KANLayerJet`, for any layout of
partials, written as loops over points (parallel) and edges so that nothing of
size (N, in, out) is ever stored: the forward keeps no intermediates and the
backward recomputes the k + 1 local bases of each input. The layout's Faà di
Bruno terms come in as flat arrays (``Layout.arrays``): per term its pair
(row, j), coefficient and factor rows, so one compiled kernel serves every
layout. The innermost loops run over the layer's outputs (contiguous in the
coefficient table). Gradients of the shared coefficients are summed per chunk of
points, then added. Used for CPU tensors when numba is installed; the PyTorch
implementation is the reference they are tested against.
"""

from __future__ import annotations

import math

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

# points per block: the kernels' innermost loops run over a block's points
BLOCK = 32

if AVAILABLE:

    @njit(cache=True, inline="always")
    def _local(x, t0, hs, grid, k, nder, lev, tmp, out):
        """Fill out[j, q] (j < nder) with d^j/dx^j of basis cell-k+q at x; return the clamped cell.

        lev: scratch (k + 1, k + 1); tmp: scratch (k + 2,). Uniform Cox-de Boor in the local coordinate u
        (any order k; _basis_block has the cubic in closed form).
        """
        s = (x - t0) / hs
        c = math.floor(s)
        u = s - c
        cell = int(c)
        inside = 1.0 if (cell >= 0 and cell < grid + 2 * k) else 0.0
        for j in range(nder):
            for q in range(k + 1):
                out[j, q] = 0.0
        lev[0, 0] = inside
        # out[j] needs level k - j: keep every level
        for p in range(1, k + 1):
            for r in range(p, -1, -1):
                term = 0.0
                if r <= p - 1:
                    term += (u + r) * lev[p - 1, r]
                if r >= 1:
                    term += (p + 1 - r - u) * lev[p - 1, r - 1]
                lev[p, r] = term / p
        hinv = 1.0 / hs
        for j in range(nder):
            if j > k:
                continue
            p = k - j
            # apply the difference (v[r] - v[r-1]) / h  j times, starting from level p
            n = p + 1
            for r in range(n):
                tmp[r] = lev[p, r]
            for _ in range(j):
                prev = tmp[n - 1]
                tmp[n] = -prev
                for r in range(n - 1, 0, -1):
                    tmp[r] = tmp[r] - tmp[r - 1]
                n += 1
                for r in range(n):
                    tmp[r] *= hinv
            for r in range(k + 1):
                out[j, k - r] = tmp[r]
        if cell < 0:
            cell = 0
        if cell > grid + 2 * k - 1:
            cell = grid + 2 * k - 1
        return cell

    @njit(cache=True, inline="always")
    def _basis_block(xb, nb, t0, hs, grid, k, nder, lev, tmp, one, cellb, bb):
        """Local bases of every point of a block: bb[j, q, b] (j < nder), cellb[b] the clamped cell."""
        if k == 3:
            hinv = 1.0 / hs
            for b in range(nb):
                s = (xb[b] - t0) * hinv
                c = math.floor(s)
                u = s - c
                cell = int(c)
                inside = 1.0 if (cell >= 0 and cell < grid + 6) else 0.0
                v = 1.0 - u
                u2 = u * u
                f = inside / 6.0
                bb[0, 0, b] = f * v * v * v
                bb[0, 1, b] = f * (3.0 * u2 * u - 6.0 * u2 + 4.0)
                bb[0, 2, b] = f * (-3.0 * u2 * u + 3.0 * u2 + 3.0 * u + 1.0)
                bb[0, 3, b] = f * u2 * u
                if nder > 1:
                    g = 0.5 * inside * hinv
                    bb[1, 0, b] = -g * v * v
                    bb[1, 1, b] = g * (3.0 * u2 - 4.0 * u)
                    bb[1, 2, b] = g * (-3.0 * u2 + 2.0 * u + 1.0)
                    bb[1, 3, b] = g * u2
                if nder > 2:
                    h2 = inside * hinv * hinv
                    bb[2, 0, b] = v * h2
                    bb[2, 1, b] = (3.0 * u - 2.0) * h2
                    bb[2, 2, b] = (1.0 - 3.0 * u) * h2
                    bb[2, 3, b] = u * h2
                if nder > 3:
                    h3 = inside * hinv * hinv * hinv
                    bb[3, 0, b] = -h3
                    bb[3, 1, b] = 3.0 * h3
                    bb[3, 2, b] = -3.0 * h3
                    bb[3, 3, b] = h3
                for j in range(4, nder):  # a cubic's higher derivatives vanish between knots
                    for q in range(4):
                        bb[j, q, b] = 0.0
                cellb[b] = min(max(cell, 0), grid + 5)
            return
        for b in range(nb):
            cellb[b] = _local(xb[b], t0, hs, grid, k, nder, lev, tmp, one)
            for j in range(nder):
                for q in range(k + 1):
                    bb[j, q, b] = one[j, q]

    @njit(cache=True, inline="always")
    def _silu_block(xb, gb, nb, nder, sig_table, sb):
        """sb[j, b] = silu^(j)(xb[b]) for j < nder from the sigmoid gb[b] (closed form up to the third, the
        table beyond)."""
        for b in range(nb):
            x = xb[b]
            sig = gb[b]
            om = 1.0 - sig
            sp = sig * om
            sb[0, b] = x * sig
            if nder > 1:
                sb[1, b] = sig * (1.0 + x * om)
            if nder > 2:
                sb[2, b] = sp * (2.0 + x * (1.0 - 2.0 * sig))
            if nder > 3:
                m2 = 1.0 - 2.0 * sig
                sb[3, b] = sp * m2 * (2.0 + x * m2) + sp * (m2 - 2.0 * x * sp)
            if nder > 4:
                prev = 0.0
                for c in range(sig_table.shape[1] - 1, -1, -1):
                    prev = prev * sig + sig_table[3, c]
                for j in range(4, nder):
                    acc = 0.0
                    for c in range(sig_table.shape[1] - 1, -1, -1):
                        acc = acc * sig + sig_table[j, c]
                    sb[j, b] = x * acc + j * prev
                    prev = acc

    @njit(cache=True, inline="always")
    def _chain_block(rows, n0, nb, i, t_pair, t_coef, t_nfac, t_fac, qb, live):
        """qb[p, b] = Q of pair p for input i at the block's points; live[p]: any of them non-zero."""
        n_pairs = qb.shape[0]
        for p in range(n_pairs):
            for b in range(nb):
                qb[p, b] = 0.0
        for b in range(nb):
            qb[0, b] = 1.0
        for tt in range(t_pair.shape[0]):
            p = t_pair[tt]
            c = t_coef[tt]
            nf = t_nfac[tt]
            f0 = t_fac[tt, 0]
            if nf == 1:
                for b in range(nb):
                    qb[p, b] += c * rows[n0 + b, f0, i]
            else:
                for b in range(nb):
                    prod = c * rows[n0 + b, f0, i]
                    for f in range(1, nf):
                        prod *= rows[n0 + b, t_fac[tt, f], i]
                    qb[p, b] += prod
        for p in range(n_pairs):
            live[p] = False
            for b in range(nb):
                if qb[p, b] != 0.0:
                    live[p] = True
                    break

    @njit(cache=True, inline="always")
    def _phi_block(table, wbt, i, o, k, nder, nb, cellb, bb, sb, phib):
        """phib[j, b] = sum_q bb[j, q, b] table[i, cellb[b] + q, o] + sb[j, b] wbt[i, o] for j < nder."""
        w = wbt[i, o]
        for j in range(nder):
            for b in range(nb):
                phib[j, b] = sb[j, b] * w
            for q in range(k + 1):
                for b in range(nb):
                    phib[j, b] += bb[j, q, b] * table[i, cellb[b] + q, o]

    @njit(cache=True, parallel=True, fastmath=True)
    def forward_kernel(
        rows, sig, table, wbt, t0, hs, grid, k, order, sig_table, pair_row, pair_j, t_pair, t_coef, t_nfac, t_fac,
        chunks, out,
    ):
        n_pts, n_rows, n_in = rows.shape
        n_out = table.shape[2]
        n_pairs = pair_row.shape[0]
        nder = order + 1
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        for t in prange(chunks):
            # scratch once per chunk: allocations per point would dominate
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            one = np.empty((max(nder, 4), k + 1))
            xb = np.empty(BLOCK, dt)
            gb = np.empty(BLOCK, dt)
            cellb = np.empty(BLOCK, dtype=np.int64)
            bb = np.empty((max(nder, 4), k + 1, BLOCK), dt)
            sb = np.empty((nder, BLOCK), dt)
            qb = np.empty((n_pairs, BLOCK), dt)
            live = np.empty(n_pairs, dtype=np.bool_)
            phib = np.empty((nder, BLOCK), dt)
            acc = np.empty((n_rows, n_out, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                acc[:] = 0.0
                for i in range(n_in):
                    for b in range(nb):
                        xb[b] = rows[n0 + b, 0, i]
                        gb[b] = sig[n0 + b, i]
                    _basis_block(xb, nb, t0[i], hs[i], grid, k, nder, lev, tmp, one, cellb, bb)
                    _silu_block(xb, gb, nb, nder, sig_table, sb)
                    _chain_block(rows, n0, nb, i, t_pair, t_coef, t_nfac, t_fac, qb, live)
                    for o in range(n_out):
                        _phi_block(table, wbt, i, o, k, nder, nb, cellb, bb, sb, phib)
                        for p in range(n_pairs):
                            if live[p]:
                                s = pair_row[p]
                                j = pair_j[p]
                                for b in range(nb):
                                    acc[s, o, b] += qb[p, b] * phib[j, b]
                for b in range(nb):
                    for s in range(n_rows):
                        for o in range(n_out):
                            out[n0 + b, s, o] = acc[s, o, b]

    @njit(cache=True, parallel=True, fastmath=True)
    def backward_kernel(
        rows, sig, table, wbt, t0, hs, grid, k, order, sig_table, pair_row, pair_j, t_pair, t_coef, t_nfac, t_fac,
        g_out, g_rows, g_table, g_wbt,
    ):
        """g_table (T, in, W, out) and g_wbt (T, in, out): one slice per chunk of points, summed by the caller."""
        n_pts, n_rows, n_in = rows.shape
        n_out = table.shape[2]
        n_pairs = pair_row.shape[0]
        n_terms = t_pair.shape[0]
        nder = order + 2
        chunks = g_table.shape[0]
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        for t in prange(chunks):
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            one = np.empty((max(nder, 4), k + 1))
            xb = np.empty(BLOCK, dt)
            gb = np.empty(BLOCK, dt)
            cellb = np.empty(BLOCK, dtype=np.int64)
            bb = np.empty((max(nder, 4), k + 1, BLOCK), dt)
            sb = np.empty((nder, BLOCK), dt)
            qb = np.empty((n_pairs, BLOCK), dt)
            live = np.empty(n_pairs, dtype=np.bool_)
            gqb = np.empty((n_pairs, BLOCK), dt)
            phib = np.empty((nder, BLOCK), dt)
            gab = np.empty((order + 1, BLOCK), dt)
            ghb = np.empty(BLOCK, dt)
            tq = np.empty((k + 1, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for i in range(n_in):
                    for b in range(nb):
                        xb[b] = rows[n0 + b, 0, i]
                        gb[b] = sig[n0 + b, i]
                        ghb[b] = 0.0
                    _basis_block(xb, nb, t0[i], hs[i], grid, k, nder, lev, tmp, one, cellb, bb)
                    _silu_block(xb, gb, nb, nder, sig_table, sb)
                    _chain_block(rows, n0, nb, i, t_pair, t_coef, t_nfac, t_fac, qb, live)
                    gqb[:] = 0.0
                    for o in range(n_out):
                        _phi_block(table, wbt, i, o, k, nder, nb, cellb, bb, sb, phib)
                        gab[:] = 0.0
                        for p in range(n_pairs):
                            s = pair_row[p]
                            j = pair_j[p]
                            for b in range(nb):
                                g = g_out[n0 + b, s, o]
                                gqb[p, b] += g * phib[j, b]
                                gab[j, b] += qb[p, b] * g
                        gw = 0.0
                        for j in range(order + 1):
                            for b in range(nb):
                                ghb[b] += gab[j, b] * phib[j + 1, b]
                                gw += sb[j, b] * gab[j, b]
                        g_wbt[t, i, o] += gw
                        for q in range(k + 1):
                            for b in range(nb):
                                tq[q, b] = bb[0, q, b] * gab[0, b]
                            for j in range(1, order + 1):
                                for b in range(nb):
                                    tq[q, b] += bb[j, q, b] * gab[j, b]
                        # scatter into the shared coefficients: in order of the points (cells repeat)
                        for b in range(nb):
                            c = cellb[b]
                            for q in range(k + 1):
                                g_table[t, i, c + q, o] += tq[q, b]
                    for b in range(nb):
                        g_rows[n0 + b, 0, i] = ghb[b]
                        for s in range(1, n_rows):
                            g_rows[n0 + b, s, i] = 0.0
                    for tt in range(n_terms):
                        p = t_pair[tt]
                        coef = t_coef[tt]
                        nf = t_nfac[tt]
                        for a in range(nf):
                            fa = t_fac[tt, a]
                            for b in range(nb):
                                term = gqb[p, b] * coef
                                for f in range(nf):
                                    if f != a:
                                        term *= rows[n0 + b, t_fac[tt, f], i]
                                g_rows[n0 + b, fa, i] += term


_np = as_numpy


def _layout_args(layout, dtype):
    from pinnkan.univariate import poly_table

    arr = layout.arrays()
    sig = poly_table("sigmoid", layout.order + 1)
    return (
        layout.order,
        sig,
        arr["pair_row"],
        arr["pair_j"],
        arr["pair"],
        arr["coef"],
        arr["nfac"],
        arr["fac"],
    )


def jet_forward(rows, table, wb, t0, hs, grid: int, k: int, layout):
    """Torch tensors in, the output rows (N, S, out) out; see forward_kernel."""
    import torch

    n, s, _ = rows.shape
    out = torch.empty(n, s, table.shape[-1], dtype=rows.dtype)
    forward_kernel(
        _np(rows),
        _np(torch.sigmoid(rows[:, 0])),  # vectorised here: numba's exp is a scalar call per point
        _np(table),
        _np(wb.T),
        _np(t0),
        _np(hs),
        grid,
        k,
        *_layout_args(layout, rows.dtype),
        chunks_for(n),
        out.numpy(),
    )
    return out


def jet_backward(rows, table, wb, t0, hs, grid: int, k: int, layout, g_out):
    """Gradients (rows, table, wb) of the fused layer; a None upstream gradient counts as 0."""
    import torch

    n, s, n_in = rows.shape
    dt = rows.dtype
    g_out = torch.zeros(n, s, table.shape[-1], dtype=dt) if g_out is None else g_out
    chunks = chunks_for(n)
    g_rows = torch.empty_like(rows)
    g_table = torch.zeros((chunks,) + tuple(table.shape), dtype=dt)
    g_wbt = torch.zeros(chunks, n_in, table.shape[-1], dtype=dt)
    backward_kernel(
        _np(rows),
        _np(torch.sigmoid(rows[:, 0])),
        _np(table),
        _np(wb.T),
        _np(t0),
        _np(hs),
        grid,
        k,
        *_layout_args(layout, dt),
        _np(g_out),
        g_rows.numpy(),
        g_table.numpy(),
        g_wbt.numpy(),
    )
    return g_rows, g_table.sum(0), g_wbt.sum(0).T
