"""Compiled CPU kernels (numba) for the fused KAN-layer jet of kan_jet.py.

Same math as :class:`pinnkan.surrogates.kan_jet.KANLayerJet`, written as loops
over points (parallel) and edges so that nothing of size (N, in, out) is ever
stored: the forward keeps no intermediates and the backward recomputes the
k + 1 local bases of each input. Gradients of the shared coefficients are summed
per thread, then added. Used for CPU tensors when numba is installed; the
PyTorch implementation is the reference they are tested against.
"""

from __future__ import annotations

import math

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, as_numpy, njit, prange
from pinnkan.surrogates.compiled import chunks as chunks_for

if AVAILABLE:

    @njit(cache=True, inline="always")
    def _silu(x, out):
        sig = 1.0 / (1.0 + math.exp(-x))
        om = 1.0 - sig
        sp = sig * om
        out[0] = x * sig
        out[1] = sig * (1.0 + x * om)
        out[2] = sp * (2.0 + x * (1.0 - 2.0 * sig))
        out[3] = sp * (1.0 - 2.0 * sig) * (2.0 + x * (1.0 - 2.0 * sig)) + sp * ((1.0 - 2.0 * sig) - 2.0 * x * sp)

    @njit(cache=True, inline="always")
    def _cubic(x, t0, hs, grid, nder, out):
        """_local for k = 3 in closed form (the common case; 5x faster than the recursion)."""
        s = (x - t0) / hs
        c = math.floor(s)
        u = s - c
        cell = int(c)
        inside = 1.0 if (cell >= 0 and cell < grid + 6) else 0.0
        v = 1.0 - u
        u2 = u * u
        hinv = inside / hs
        f = inside / 6.0
        out[0, 0] = f * v * v * v
        out[0, 1] = f * (3.0 * u2 * u - 6.0 * u2 + 4.0)
        out[0, 2] = f * (-3.0 * u2 * u + 3.0 * u2 + 3.0 * u + 1.0)
        out[0, 3] = f * u2 * u
        if nder > 1:
            out[1, 0] = -0.5 * v * v * hinv
            out[1, 1] = 0.5 * (3.0 * u2 - 4.0 * u) * hinv
            out[1, 2] = 0.5 * (-3.0 * u2 + 2.0 * u + 1.0) * hinv
            out[1, 3] = 0.5 * u2 * hinv
        if nder > 2:
            h2 = hinv / hs
            out[2, 0] = v * h2
            out[2, 1] = (3.0 * u - 2.0) * h2
            out[2, 2] = (1.0 - 3.0 * u) * h2
            out[2, 3] = u * h2
        if nder > 3:
            h3 = hinv / (hs * hs)
            out[3, 0] = -h3
            out[3, 1] = 3.0 * h3
            out[3, 2] = -3.0 * h3
            out[3, 3] = h3
        if cell < 0:
            cell = 0
        if cell > grid + 5:
            cell = grid + 5
        return cell

    @njit(cache=True, inline="always")
    def _local(x, t0, hs, grid, k, nder, lev, tmp, out):
        """Fill out[j, q] (j < nder) with d^j/dx^j of basis cell-k+q at x; return the clamped cell.

        lev: scratch (k + 1, k + 1); tmp: scratch (k + 2,). Uniform Cox-de Boor in the local coordinate u.
        """
        if k == 3:
            return _cubic(x, t0, hs, grid, nder, out)
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

    @njit(cache=True, parallel=True, fastmath=True)
    def forward_kernel(h, dh, d2h, table, wb, t0, hs, grid, k, order, chunks, value, grad, diag):
        n_pts, n_in = h.shape
        n_out = wb.shape[0]
        d = dh.shape[1]
        per = (n_pts + chunks - 1) // chunks
        for t in prange(chunks):
            # scratch once per chunk: allocations per point would dominate
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            b = np.empty((3, k + 1))
            s = np.empty(4)
            acc_v = np.empty(n_out)
            acc_g = np.empty((d, n_out))
            acc_d = np.empty((d, n_out))
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                acc_v[:] = 0.0
                acc_g[:] = 0.0
                acc_d[:] = 0.0
                for i in range(n_in):
                    x = h[n, i]
                    cell = _local(x, t0[i], hs[i], grid, k, order + 1, lev, tmp, b)
                    _silu(x, s)
                    for o in range(n_out):
                        w = wb[o, i]
                        p0 = s[0] * w
                        p1 = s[1] * w
                        p2 = s[2] * w
                        for q in range(k + 1):
                            c = table[i, cell + q, o]
                            p0 += b[0, q] * c
                            p1 += b[1, q] * c
                            p2 += b[2, q] * c
                        acc_v[o] += p0
                        for a in range(d):
                            g = dh[n, a, i]
                            acc_g[a, o] += g * p1
                            acc_d[a, o] += g * g * p2
                        if order == 2:
                            for a in range(d):
                                acc_d[a, o] += d2h[n, a, i] * p1
                for o in range(n_out):
                    value[n, o] = acc_v[o]
                    for a in range(d):
                        grad[n, a, o] = acc_g[a, o]
                        if order == 2:
                            diag[n, a, o] = acc_d[a, o]

    @njit(cache=True, parallel=True, fastmath=True)
    def backward_kernel(
        h, dh, d2h, table, wb, t0, hs, grid, k, order, g_value, g_grad, g_diag, g_h, g_dh, g_d2h, g_table, g_wb
    ):
        """g_table (T, in, W, out) and g_wb (T, out, in): one slice per chunk of points, summed by the caller."""
        n_pts, n_in = h.shape
        n_out = wb.shape[0]
        d = dh.shape[1]
        chunks = g_table.shape[0]
        per = (n_pts + chunks - 1) // chunks
        two = order == 2
        for t in prange(chunks):
            lev = np.empty((k + 1, k + 1))
            tmp = np.empty(k + 2)
            b = np.empty((4, k + 1))
            s = np.empty(4)
            loc_dh = np.empty(d)
            loc_d2h = np.empty(d)
            for n in range(t * per, min(n_pts, (t + 1) * per)):
                for i in range(n_in):
                    x = h[n, i]
                    cell = _local(x, t0[i], hs[i], grid, k, order + 2, lev, tmp, b)
                    _silu(x, s)
                    gh = 0.0
                    loc_dh[:] = 0.0
                    loc_d2h[:] = 0.0
                    for o in range(n_out):
                        w = wb[o, i]
                        p1 = s[1] * w
                        p2 = s[2] * w
                        p3 = s[3] * w
                        for q in range(k + 1):
                            c = table[i, cell + q, o]
                            p1 += b[1, q] * c
                            p2 += b[2, q] * c
                            p3 += b[3, q] * c
                        g0 = g_value[n, o]
                        g1 = 0.0
                        g2 = 0.0
                        for a in range(d):
                            gg = g_grad[n, a, o]
                            dha = dh[n, a, i]
                            g1 += dha * gg
                            loc_dh[a] += gg * p1
                            if two:
                                gd = g_diag[n, a, o]
                                g1 += d2h[n, a, i] * gd
                                g2 += dha * dha * gd
                                loc_dh[a] += 2.0 * dha * gd * p2
                                loc_d2h[a] += gd * p1
                        gh += g0 * p1 + g1 * p2 + g2 * p3
                        g_wb[t, o, i] += s[0] * g0 + s[1] * g1 + s[2] * g2
                        for q in range(k + 1):
                            g_table[t, i, cell + q, o] += b[0, q] * g0 + b[1, q] * g1 + b[2, q] * g2
                    g_h[n, i] = gh
                    for a in range(d):
                        g_dh[n, a, i] = loc_dh[a]
                        if two:
                            g_d2h[n, a, i] = loc_d2h[a]


_np = as_numpy


def jet_forward(h, dh, d2h, table, wb, t0, hs, grid: int, k: int):
    """Torch tensors in, (value, grad, diag or None) torch tensors out; see forward_kernel."""
    import torch

    n, n_in = h.shape
    d, n_out = dh.shape[1], wb.shape[0]
    order = 1 if d2h is None else 2
    value = torch.empty(n, n_out, dtype=h.dtype)
    grad = torch.empty(n, d, n_out, dtype=h.dtype)
    diag = torch.empty(n, d, n_out, dtype=h.dtype) if order == 2 else torch.empty(1, 1, 1, dtype=h.dtype)
    d2 = _np(d2h) if order == 2 else np.zeros((1, 1, 1), dtype=_np(h).dtype)
    chunks = chunks_for(n)
    forward_kernel(
        _np(h),
        _np(dh),
        d2,
        _np(table),
        _np(wb),
        _np(t0),
        _np(hs),
        grid,
        k,
        order,
        chunks,
        value.numpy(),
        grad.numpy(),
        diag.numpy(),
    )
    return value, grad, (diag if order == 2 else None)


def jet_backward(h, dh, d2h, table, wb, t0, hs, grid: int, k: int, g_value, g_grad, g_diag):
    """Gradients (h, dh, d2h or None, table, wb) of the fused layer; None upstream grads count as 0."""
    import torch

    n, n_in = h.shape
    d, n_out = dh.shape[1], wb.shape[0]
    order = 1 if d2h is None else 2
    dt = h.dtype
    g_value = torch.zeros(n, n_out, dtype=dt) if g_value is None else g_value
    g_grad = torch.zeros(n, d, n_out, dtype=dt) if g_grad is None else g_grad
    if order == 2 and g_diag is None:
        g_diag = torch.zeros(n, d, n_out, dtype=dt)
    chunks = chunks_for(n)
    g_h = torch.empty(n, n_in, dtype=dt)
    g_dh = torch.empty(n, d, n_in, dtype=dt)
    g_d2h = torch.empty(n, d, n_in, dtype=dt) if order == 2 else torch.zeros(1, 1, 1, dtype=dt)
    g_table = torch.zeros((chunks,) + tuple(table.shape), dtype=dt)
    g_wb = torch.zeros(chunks, n_out, n_in, dtype=dt)
    dummy = np.zeros((1, 1, 1), dtype=_np(h).dtype)
    backward_kernel(
        _np(h),
        _np(dh),
        _np(d2h) if order == 2 else dummy,
        _np(table),
        _np(wb),
        _np(t0),
        _np(hs),
        grid,
        k,
        order,
        _np(g_value),
        _np(g_grad),
        _np(g_diag) if order == 2 else dummy,
        g_h.numpy(),
        g_dh.numpy(),
        g_d2h.numpy(),
        g_table.numpy(),
        g_wb.numpy(),
    )
    return g_h, g_dh, (g_d2h if order == 2 else None), g_table.sum(0), g_wb.sum(0)
