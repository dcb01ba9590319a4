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
    from pinnkan.surrogates.kan_cpu_blocks import _edge_block, _input_block

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
