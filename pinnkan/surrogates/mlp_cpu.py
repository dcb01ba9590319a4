"""Compiled CPU kernels (numba) for the tanh rows of mlp_jet.py.

One pass over the (n, R, N) rows per layer and direction instead of the dozen
elementwise PyTorch ops of ``tanh_rows``, ``tanh_rows_backward``, ``first_rows``
and ``first_backward`` (same math, tested against them). Parallel over
features; the loops over points are innermost so that they vectorise. tanh
itself is not computed here (numba's scalar tanh is slow): callers pass t.
``mode``: 0 first order only, 1 Hessian diagonal (K = D), 2 Laplacian (K = 1).
"""

from __future__ import annotations

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, njit, prange

if AVAILABLE:

    @njit(parallel=True, fastmath=True, cache=True)
    def rows_forward(z, t, dim, mode, h):  # pragma: no cover - compiled
        """h = rows of tanh(z); z, h (n, R, N); t = tanh(z[:, 0]) (n, N)."""
        n, _, m = z.shape
        for i in prange(n):
            q = np.zeros(m, dtype=z.dtype)
            for j in range(m):
                h[i, 0, j] = t[i, j]
            for d in range(dim):
                for j in range(m):
                    s = 1.0 - t[i, j] * t[i, j]
                    g = z[i, 1 + d, j]
                    h[i, 1 + d, j] = s * g
                    if mode == 1:
                        h[i, 1 + dim + d, j] = s * (z[i, 1 + dim + d, j] - 2.0 * t[i, j] * g * g)
                    elif mode == 2:
                        q[j] += g * g
            if mode == 2:
                for j in range(m):
                    s = 1.0 - t[i, j] * t[i, j]
                    h[i, 1 + dim, j] = s * (z[i, 1 + dim, j] - 2.0 * t[i, j] * q[j])

    @njit(parallel=True, fastmath=True, cache=True)
    def rows_backward(dh, src, cs, z, t, dim, mode, dz, db):  # pragma: no cover - compiled
        """dz = cotangent of z from the cotangent of the tanh rows; z, dz (n, R, N), t (n, N).

        The cotangent of feature i is cs[i] * dh[src[i]]: dh (n, R, N) with src = arange, cs = 1,
        or, behind a last layer with one output, dh = dy (1, R, N), src = 0, cs = w, which saves
        forming the (n, R, N) outer product. db (n,): the value row of dz summed (bias gradient).
        """
        n, _, m = z.shape
        for i in prange(n):
            c, k = cs[i], src[i]
            inner = np.empty(m, dtype=z.dtype)
            if mode == 2:
                q = np.zeros(m, dtype=z.dtype)
                gz = np.zeros(m, dtype=z.dtype)
                for d in range(dim):
                    for j in range(m):
                        g = z[i, 1 + d, j]
                        q[j] += g * g
                        gz[j] += dh[k, 1 + d, j] * g
                for j in range(m):
                    tt = t[i, j]
                    s = 1.0 - tt * tt
                    lk = c * dh[k, 1 + dim, j]
                    dz[i, 1 + dim, j] = s * lk
                    inner[j] = c * (dh[k, 0, j] - 2.0 * tt * gz[j]) - 2.0 * lk * (
                        tt * z[i, 1 + dim, j] + q[j] * (s - 2.0 * tt * tt)
                    )
                    # reuse q for -4 t L, the factor of zg_d in dzg_d
                    q[j] = -4.0 * tt * lk
                for d in range(dim):
                    for j in range(m):
                        tt = t[i, j]
                        dz[i, 1 + d, j] = (1.0 - tt * tt) * (c * dh[k, 1 + d, j] + q[j] * z[i, 1 + d, j])
            else:
                for j in range(m):
                    inner[j] = c * dh[k, 0, j]
                for d in range(dim):
                    for j in range(m):
                        tt = t[i, j]
                        s = 1.0 - tt * tt
                        g = z[i, 1 + d, j]
                        gd = c * dh[k, 1 + d, j]
                        inner[j] -= 2.0 * tt * gd * g
                        if mode == 0:
                            dz[i, 1 + d, j] = s * gd
                        else:
                            lk = c * dh[k, 1 + dim + d, j]
                            dz[i, 1 + dim + d, j] = s * lk
                            dz[i, 1 + d, j] = s * (gd - 4.0 * tt * g * lk)
                            inner[j] -= 2.0 * lk * (tt * z[i, 1 + dim + d, j] + g * g * (s - 2.0 * tt * tt))
            acc = 0.0
            for j in range(m):
                tt = t[i, j]
                v = (1.0 - tt * tt) * inner[j]
                dz[i, 0, j] = v
                acc += v
            db[i] = acc

    @njit(parallel=True, fastmath=True, cache=True)
    def first_forward(t, a, q, mode, h):  # pragma: no cover - compiled
        """Rows of the first tanh layer: t (n, N) its values, a (n, D) its constant gradient rows,
        q (n, K) = (a * a) @ C.T."""
        n, m = t.shape
        dim = a.shape[1]
        for i in prange(n):
            for j in range(m):
                h[i, 0, j] = t[i, j]
            for d in range(dim):
                for j in range(m):
                    h[i, 1 + d, j] = (1.0 - t[i, j] * t[i, j]) * a[i, d]
            if mode > 0:
                for k in range(q.shape[1]):
                    for j in range(m):
                        tt = t[i, j]
                        h[i, 1 + dim + k, j] = -2.0 * tt * (1.0 - tt * tt) * q[i, k]

    @njit(parallel=True, fastmath=True, cache=True)
    def first_backward(dh, t, a, x, scale, q, mode, gw, gb):  # pragma: no cover - compiled
        """Gradients of W1 (n, D) and b1 (n,) from the cotangent dh (n, R, N) of first_forward's rows.

        Same as rows_backward with zg_d = a_d, zs = 0, contracted with the input:
        gw[:, d] = dz0 @ x[:, d] + scale_d sum(dzg_d), gb = sum(dz0); q (n, K) = (a * a) @ C.T.
        """
        n, m = t.shape
        dim = a.shape[1]
        k = q.shape[1]
        for i in prange(n):
            dz0 = np.empty(m, dtype=t.dtype)
            # sum_k L_k q_k
            lq = np.zeros(m, dtype=t.dtype)
            if mode > 0:
                for kk in range(k):
                    qk = q[i, kk]
                    for j in range(m):
                        lq[j] += dh[i, 1 + dim + kk, j] * qk
            for j in range(m):
                tt = t[i, j]
                dz0[j] = dh[i, 0, j] - 2.0 * lq[j] * (1.0 - 3.0 * tt * tt)
            for d in range(dim):
                ad = a[i, d]
                sg = 0.0
                for j in range(m):
                    tt = t[i, j]
                    gd = dh[i, 1 + d, j]
                    dz0[j] -= 2.0 * tt * gd * ad
                    if mode == 0:
                        cl = 0.0
                    elif mode == 1:
                        cl = dh[i, 1 + dim + d, j]
                    else:
                        cl = dh[i, 1 + dim, j]
                    sg += (1.0 - tt * tt) * (gd - 4.0 * tt * ad * cl)
                gw[i, d] = scale[d] * sg
            acc = 0.0
            for j in range(m):
                tt = t[i, j]
                v = (1.0 - tt * tt) * dz0[j]
                dz0[j] = v
                acc += v
            gb[i] = acc
            for d in range(dim):
                acc2 = 0.0
                for j in range(m):
                    acc2 += dz0[j] * x[j, d]
                gw[i, d] += acc2
