"""The inlined building blocks of the KAN-layer jet kernels (kan_cpu.py): per block of points, the local
B-spline bases and their derivatives (any order k; the cubic in closed form), SiLU's derivatives, the Faà di
Bruno chain of a layout's terms, the contiguous copy of one input's rows, and one edge's contribution. Each
is compiled inline into the kernels that call it (numba ``inline="always"``), so splitting them out of the
kernels' module costs nothing at run time.
"""

from __future__ import annotations

import math

import numpy as np

from pinnkan.surrogates.compiled import AVAILABLE, njit

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
