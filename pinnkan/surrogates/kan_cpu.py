"""Compiled CPU kernels (numba) for the fused KAN-layer jet of kan_jet.py.

Same math as :class:`pinnkan.surrogates.kan_jet.KANLayerJet`, for any layout of
partials, written as loops over blocks of points (chunks of them in parallel)
and edges so that nothing of size (N, in, out) is ever stored: the forward keeps
no intermediates and the backward recomputes the k + 1 local bases of each
input. The layout's Faà di Bruno terms come in as flat arrays
(``Layout.arrays``): per term its pair (row, j), coefficient and factor rows, so
one compiled kernel serves every layout.

Each block of points copies the rows of one input (and the upstream gradient)
into contiguous scratch once, and the coefficient table comes as (in, out,
cells), so that the loops over a block's points read and write contiguous
memory and compile to vector instructions; all arithmetic stays in
the tensors' dtype (float constants come in as an array of it: a float literal
would promote float32 to float64). Per edge, the k + 1 coefficients of each
point are gathered once and serve every derivative. Gradients of the shared
coefficients are summed per chunk of points, then added; within a block,
one-hot over the cells for small tables (vector selects beat a scalar scatter
whose cells repeat), scattered for larger ones. Used for CPU tensors when numba is installed; the PyTorch
implementation is the reference they are tested against.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

# points per block: the kernels' innermost loops run over a block's points
BLOCK = 256
# coefficient gradients of tables with at most this many cells are summed one-hot, the rest scattered
DENSE = 16
# 1/6, 1/2, 1, 2, 3, 4, 0 in the kernels' dtype
_CONSTANTS = (1.0 / 6.0, 0.5, 1.0, 2.0, 3.0, 4.0, 0.0)

if AVAILABLE:

    @njit(cache=True, inline="always", error_model="numpy")
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

    @njit(cache=True, inline="always", error_model="numpy")
    def _basis_block(xb, nb, t0, hs, grid, k, nder, cst, lev, tmp, one, cellb, bb):
        """Local bases of every point of a block: bb[j, q, b] (j < nder), cellb[b] the clamped cell."""
        if k == 3:
            sixth, half, c1, c2, c3, c4, c0 = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5], cst[6]
            hinv = c1 / hs
            last = grid + 5
            for b in range(nb):
                s = (xb[b] - t0) * hinv
                c = np.floor(s)
                u = s - c
                cell = int(c)
                inside = c1 if (cell >= 0 and cell <= last) else c0
                v = c1 - u
                u2 = u * u
                f = inside * sixth
                bb[0, 0, b] = f * v * v * v
                bb[0, 1, b] = f * (c3 * u2 * u - c3 * c2 * u2 + c4)
                bb[0, 2, b] = f * (c3 * u2 * (c1 - u) + c3 * u + c1)
                bb[0, 3, b] = f * u2 * u
                cellb[b] = min(max(cell, 0), last)
            if nder > 1:
                # a second pass over the points (recomputing u) keeps each loop short enough to vectorise
                for b in range(nb):
                    s = (xb[b] - t0) * hinv
                    u = s - np.floor(s)
                    cell = int(np.floor(s))
                    inside = c1 if (cell >= 0 and cell <= last) else c0
                    v = c1 - u
                    u2 = u * u
                    g = half * inside * hinv
                    bb[1, 0, b] = -g * v * v
                    bb[1, 1, b] = g * (c3 * u2 - c4 * u)
                    bb[1, 2, b] = g * (c1 + c2 * u - c3 * u2)
                    bb[1, 3, b] = g * u2
                    if nder > 2:
                        h2 = inside * hinv * hinv
                        bb[2, 0, b] = v * h2
                        bb[2, 1, b] = (c3 * u - c2) * h2
                        bb[2, 2, b] = (c1 - c3 * u) * h2
                        bb[2, 3, b] = u * h2
                    if nder > 3:
                        h3 = inside * hinv * hinv * hinv
                        bb[3, 0, b] = -h3
                        bb[3, 1, b] = c3 * h3
                        bb[3, 2, b] = -c3 * h3
                        bb[3, 3, b] = h3
            for j in range(4, nder):  # a cubic's higher derivatives vanish between knots
                for q in range(4):
                    for b in range(nb):
                        bb[j, q, b] = c0
            return
        for b in range(nb):
            cellb[b] = _local(xb[b], t0, hs, grid, k, nder, lev, tmp, one)
            for j in range(nder):
                for q in range(k + 1):
                    bb[j, q, b] = one[j, q]

    @njit(cache=True, inline="always", error_model="numpy")
    def _silu_block(xb, gb, nb, nder, cst, sig_table, sb):
        """sb[j, b] = silu^(j)(xb[b]) for j < nder from the sigmoid gb[b] (closed form up to the third, the
        table beyond)."""
        c1, c2 = cst[2], cst[3]
        for b in range(nb):
            x = xb[b]
            sig = gb[b]
            om = c1 - sig
            sp = sig * om
            sb[0, b] = x * sig
            if nder > 1:
                sb[1, b] = sig * (c1 + x * om)
            if nder > 2:
                sb[2, b] = sp * (c2 + x * (c1 - c2 * sig))
            if nder > 3:
                m2 = c1 - c2 * sig
                sb[3, b] = sp * m2 * (c2 + x * m2) + sp * (m2 - c2 * x * sp)
        if nder > 4:
            for b in range(nb):
                x = xb[b]
                sig = gb[b]
                prev = 0.0
                for c in range(sig_table.shape[1] - 1, -1, -1):
                    prev = prev * sig + sig_table[3, c]
                for j in range(4, nder):
                    acc = 0.0
                    for c in range(sig_table.shape[1] - 1, -1, -1):
                        acc = acc * sig + sig_table[j, c]
                    sb[j, b] = x * acc + j * prev
                    prev = acc

    @njit(cache=True, inline="always", error_model="numpy")
    def _chain_block(rb, nb, t_pair, t_coef, t_nfac, t_fac, c1, c0, qb, live):
        """qb[p, b] = Q of pair p at the block's points from their rows rb[s, b]; live[p]: any of them non-zero."""
        n_pairs = qb.shape[0]
        for p in range(n_pairs):
            for b in range(nb):
                qb[p, b] = c0
        for b in range(nb):
            qb[0, b] = c1
        for tt in range(t_pair.shape[0]):
            p = t_pair[tt]
            c = t_coef[tt]
            nf = t_nfac[tt]
            f0 = t_fac[tt, 0]
            if nf == 1:
                for b in range(nb):
                    qb[p, b] += c * rb[f0, b]
            elif nf == 2:
                f1 = t_fac[tt, 1]
                for b in range(nb):
                    qb[p, b] += c * rb[f0, b] * rb[f1, b]
            else:
                for b in range(nb):
                    prod = c * rb[f0, b]
                    for f in range(1, nf):
                        prod *= rb[t_fac[tt, f], b]
                    qb[p, b] += prod
        for p in range(n_pairs):
            live[p] = False
            for b in range(nb):
                if qb[p, b] != c0:
                    live[p] = True
                    break

    @njit(cache=True, inline="always", error_model="numpy")
    def _input_block(
        rows, sig, n0, nb, i, t0, hs, grid, k, nder, cst, sig_table, t_pair, t_coef, t_nfac, t_fac, lev, tmp, one,
        rb, gb, cellb, bb, sb, qb, live,
    ):
        """What input i of a block needs for every output: its rows rb[s, b] copied out of rows (N, S, in), the
        cells and bases (_basis_block), silu's derivatives (_silu_block), the chain coefficients (_chain_block)."""
        for b in range(nb):
            for s in range(rb.shape[0]):
                rb[s, b] = rows[n0 + b, s, i]
            gb[b] = sig[n0 + b, i]
        xb = rb[0]
        _basis_block(xb, nb, t0, hs, grid, k, nder, cst, lev, tmp, one, cellb, bb)
        _silu_block(xb, gb, nb, nder, cst, sig_table, sb)
        _chain_block(rb, nb, t_pair, t_coef, t_nfac, t_fac, cst[2], cst[6], qb, live)

    @njit(cache=True, inline="always", error_model="numpy")
    def _edge_block(table_t, wbt, i, o, k, nder, nb, cellb, bb, sb, cq, phib):
        """phib[j, b] = phi_j of edge i -> o at the block's points (j < nder); each point's k + 1 coefficients
        are gathered once into cq for every derivative."""
        w = wbt[i, o]
        for q in range(k + 1):
            for b in range(nb):
                cq[q, b] = table_t[i, o, cellb[b] + q]
        for j in range(nder):
            for b in range(nb):
                phib[j, b] = sb[j, b] * w
            for q in range(k + 1):
                for b in range(nb):
                    phib[j, b] += bb[j, q, b] * cq[q, b]

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def forward_kernel(
        rows, sig, table_t, wbt, t0, hs, grid, k, order, cst, sig_table, pair_row, pair_j, t_pair, t_coef,
        t_nfac, t_fac, chunks, out,
    ):
        """rows (N, S, in), sig (N, in) the sigmoid of rows[:, 0], table_t (in, out, cells) -> out (N, S, out)."""
        n_pts, n_rows, n_in = rows.shape
        n_out = table_t.shape[1]
        n_pairs = pair_row.shape[0]
        nder = order + 1
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        c0 = cst[6]
        for t in prange(chunks):
            # scratch once per chunk: allocations per point would dominate
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            one = np.empty((max(nder, 4), k + 1))
            cellb = np.empty(BLOCK, dtype=np.int64)
            rb = np.empty((n_rows, BLOCK), dt)
            gb = np.empty(BLOCK, dt)
            bb = np.empty((max(nder, 4), k + 1, BLOCK), dt)
            sb = np.empty((nder, BLOCK), dt)
            qb = np.empty((n_pairs, BLOCK), dt)
            live = np.empty(n_pairs, dtype=np.bool_)
            phib = np.empty((nder, BLOCK), dt)
            cq = np.empty((k + 1, BLOCK), dt)
            acc = np.empty((n_rows, n_out, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                acc[:] = c0
                for i in range(n_in):
                    _input_block(
                        rows, sig, n0, nb, i, t0[i], hs[i], grid, k, nder, cst, sig_table, t_pair, t_coef, t_nfac,
                        t_fac, lev, tmp, one, rb, gb, cellb, bb, sb, qb, live,
                    )
                    for o in range(n_out):
                        _edge_block(table_t, wbt, i, o, k, nder, nb, cellb, bb, sb, cq, phib)
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

    @njit(cache=True, parallel=True, fastmath=True, error_model="numpy")
    def backward_kernel(
        rows, sig, table_t, wbt, t0, hs, grid, k, order, cst, sig_table, pair_row, pair_j, t_pair, t_coef,
        t_nfac, t_fac, g_out, want_rows, g_rows, g_table, g_wbt,
    ):
        """g_out (N, S, out) -> g_rows (N, S, in) (untouched unless want_rows); g_table (T, in, out, cells) and
        g_wbt (T, in, out): one slice per chunk of points, summed by the caller."""
        n_pts, n_rows, n_in = rows.shape
        n_out = table_t.shape[1]
        n_cells = table_t.shape[2]
        n_pairs = pair_row.shape[0]
        n_terms = t_pair.shape[0]
        nder = order + 2 if want_rows else order + 1  # phi_{J+1} only feeds the rows' gradient
        chunks = g_table.shape[0]
        per = (n_pts + chunks - 1) // chunks
        dt = rows.dtype
        dense = n_cells <= DENSE
        c0 = cst[6]
        for t in prange(chunks):
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            one = np.empty((max(nder, 4), k + 1))
            cellb = np.empty(BLOCK, dtype=np.int64)
            rb = np.empty((n_rows, BLOCK), dt)
            gb = np.empty(BLOCK, dt)
            bb = np.empty((max(nder, 4), k + 1, BLOCK), dt)
            sb = np.empty((nder, BLOCK), dt)
            qb = np.empty((n_pairs, BLOCK), dt)
            live = np.empty(n_pairs, dtype=np.bool_)
            gqb = np.empty((n_pairs, BLOCK), dt)
            phib = np.empty((nder, BLOCK), dt)
            cq = np.empty((k + 1, BLOCK), dt)
            gab = np.empty((order + 1, BLOCK), dt)
            ghb = np.empty(BLOCK, dt)
            gob = np.empty((n_out, n_rows, BLOCK), dt)
            grb = np.empty((n_rows, BLOCK), dt)
            tq = np.empty((k + 1, BLOCK), dt)
            end = min(n_pts, (t + 1) * per)
            for n0 in range(t * per, end, BLOCK):
                nb = min(BLOCK, end - n0)
                for b in range(nb):
                    for s in range(n_rows):
                        for o in range(n_out):
                            gob[o, s, b] = g_out[n0 + b, s, o]
                for i in range(n_in):
                    _input_block(
                        rows, sig, n0, nb, i, t0[i], hs[i], grid, k, nder, cst, sig_table, t_pair, t_coef, t_nfac,
                        t_fac, lev, tmp, one, rb, gb, cellb, bb, sb, qb, live,
                    )
                    for b in range(nb):
                        ghb[b] = c0
                    gqb[:] = c0
                    for o in range(n_out):
                        if want_rows:  # the edge's derivatives only carry gradients back to the rows
                            _edge_block(table_t, wbt, i, o, k, nder, nb, cellb, bb, sb, cq, phib)
                        gab[:] = c0
                        for p in range(n_pairs):
                            s = pair_row[p]
                            j = pair_j[p]
                            if want_rows:
                                for b in range(nb):
                                    g = gob[o, s, b]
                                    gqb[p, b] += g * phib[j, b]
                                    gab[j, b] += qb[p, b] * g
                            else:
                                for b in range(nb):
                                    gab[j, b] += qb[p, b] * gob[o, s, b]
                        gw = c0
                        for j in range(order + 1):
                            if want_rows:
                                for b in range(nb):
                                    ghb[b] += gab[j, b] * phib[j + 1, b]
                            for b in range(nb):
                                gw += sb[j, b] * gab[j, b]
                        g_wbt[t, i, o] += gw
                        for q in range(k + 1):
                            for b in range(nb):
                                tq[q, b] = bb[0, q, b] * gab[0, b]
                            for j in range(1, order + 1):
                                for b in range(nb):
                                    tq[q, b] += bb[j, q, b] * gab[j, b]
                        if dense:
                            # one-hot over the few cells: vector selects beat a scalar scatter whose cells repeat
                            for q in range(k + 1):
                                for c in range(q, n_cells):
                                    tot = c0
                                    cc = c - q
                                    for b in range(nb):
                                        tot += tq[q, b] if cellb[b] == cc else c0
                                    g_table[t, i, o, c] += tot
                        else:
                            for b in range(nb):
                                c = cellb[b]
                                for q in range(k + 1):
                                    g_table[t, i, o, c + q] += tq[q, b]
                    if not want_rows:
                        continue
                    for b in range(nb):
                        grb[0, b] = ghb[b]
                    for s in range(1, n_rows):
                        for b in range(nb):
                            grb[s, b] = c0
                    for tt in range(n_terms):
                        p = t_pair[tt]
                        coef = t_coef[tt]
                        nf = t_nfac[tt]
                        if nf == 1:
                            fa = t_fac[tt, 0]
                            for b in range(nb):
                                grb[fa, b] += coef * gqb[p, b]
                            continue
                        if nf == 2:
                            f0 = t_fac[tt, 0]
                            f1 = t_fac[tt, 1]
                            for b in range(nb):
                                gc = coef * gqb[p, b]
                                r0 = rb[f0, b]
                                r1 = rb[f1, b]
                                grb[f0, b] += gc * r1
                                grb[f1, b] += gc * r0
                            continue
                        for a in range(nf):
                            fa = t_fac[tt, a]
                            for b in range(nb):
                                term = gqb[p, b] * coef
                                for f in range(nf):
                                    if f != a:
                                        term *= rb[t_fac[tt, f], b]
                                grb[fa, b] += term
                    for b in range(nb):
                        for s in range(n_rows):
                            g_rows[n0 + b, s, i] = grb[s, b]


_np = as_numpy


@functools.lru_cache(maxsize=64)
def _layout_args(layout, dtype):
    """order, constants, sigmoid table and the layout's term arrays, in the kernels' dtype where they are
    multiplied with the rows; once per layout and dtype (a layer calls its kernels several times per
    evaluation)."""
    from pinnkan.univariate import poly_table

    arr = layout.arrays()
    np_dtype = np.float32 if str(dtype) == "torch.float32" else np.float64
    return (
        layout.order,
        np.array(_CONSTANTS, dtype=np_dtype),
        poly_table("sigmoid", layout.order + 1).astype(np_dtype),
        arr["pair_row"],
        arr["pair_j"],
        arr["pair"],
        arr["coef"].astype(np_dtype),
        arr["nfac"],
        arr["fac"],
    )


def jet_forward(rows, table, wb, t0, hs, grid: int, k: int, layout, sig=None):
    """Torch tensors in, the output rows (N, S, out) out; see forward_kernel. ``sig``: sigmoid(rows[:, 0]) if
    the caller has it."""
    import torch

    n, s, _ = rows.shape
    out = torch.empty(n, s, table.shape[-1], dtype=rows.dtype)
    forward_kernel(
        _np(rows),
        # vectorised in torch: numba's exp is a scalar call per point
        _np(torch.sigmoid(rows[:, 0]) if sig is None else sig),
        _np(table.permute(0, 2, 1)),
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


def jet_backward(rows, table, wb, t0, hs, grid: int, k: int, layout, g_out, want_rows: bool = True, sig=None):
    """Gradients (rows, table, wb) of the fused layer; a None upstream gradient counts as 0.

    ``want_rows=False`` (the layer's input needs no gradient, e.g. the first layer's coordinates) skips the
    rows' gradient, returned as None."""
    import torch

    n, s, n_in = rows.shape
    dt = rows.dtype
    n_cells, n_out = table.shape[1:]
    g_out = torch.zeros(n, s, n_out, dtype=dt) if g_out is None else g_out
    chunks = chunks_for(n)
    g_rows = torch.empty_like(rows) if want_rows else rows[:0]
    g_table = torch.zeros(chunks, n_in, n_out, n_cells, dtype=dt)
    g_wbt = torch.zeros(chunks, n_in, n_out, dtype=dt)
    backward_kernel(
        _np(rows),
        _np(torch.sigmoid(rows[:, 0]) if sig is None else sig),
        _np(table.permute(0, 2, 1)),
        _np(wb.T),
        _np(t0),
        _np(hs),
        grid,
        k,
        *_layout_args(layout, dt),
        _np(g_out),
        want_rows,
        g_rows.numpy(),
        g_table.numpy(),
        g_wbt.numpy(),
    )
    return (g_rows if want_rows else None), g_table.sum(0).permute(0, 2, 1), g_wbt.sum(0).T
