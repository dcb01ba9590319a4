"""The Triton kernels of kan_triton.py (imported on first use, so TRITON_INTERPRET set before then counts).

Module-level on purpose: Triton's interpreter re-executes a kernel's source in its module's globals, so the
helpers a kernel calls must live there.
"""

# ruff: noqa: E501
import triton
import triton.language as tl


@triton.jit
def _basis(x, t0, hs, grid, j_idx, q_idx, K: tl.constexpr, NDER: tl.constexpr):
    """cell (BLOCK,) and the bases B[b, j, q] (BLOCK, J_PAD, Q_PAD), j < NDER, q <= K."""
    s = (x - t0) / hs
    c = tl.floor(s)
    u = s - c
    cell = c.to(tl.int32)
    inside = ((cell >= 0) & (cell < grid + 2 * K)).to(x.dtype)
    t = u[:, None] + (K - q_idx)[None, :].to(x.dtype)  # (BLOCK, Q_PAD): the cardinal B-spline's argument
    qmask = (q_idx <= K)[None, :]
    out = tl.zeros((x.shape[0], j_idx.shape[0], q_idx.shape[0]), dtype=x.dtype)
    hinv = 1.0 / hs
    scale = inside
    for j in tl.static_range(NDER):
        if j <= K:
            acc = tl.zeros((x.shape[0], q_idx.shape[0]), dtype=x.dtype)
            binom = 1.0  # (-1)^m C(K + 1, m)
            for m in tl.static_range(K + 2):
                d = tl.maximum(t - m, 0.0)
                p = tl.where(t - m > 0, 1.0, 0.0).to(x.dtype)
                for _ in tl.static_range(K - j):
                    p = p * d
                acc += binom * p
                binom = -binom * (K + 1 - m) / (m + 1)
            fact = 1.0
            for f in tl.static_range(1, K - j + 1):
                fact = fact * f
            val = tl.where(qmask, acc / fact, 0.0) * scale[:, None]
            out += tl.where((j_idx == j)[None, :, None], val[:, None, :], 0.0)
        scale = scale * hinv
    cell = tl.minimum(tl.maximum(cell, 0), grid + 2 * K - 1)
    return cell, out

@triton.jit
def _silu(x, j_idx, sig_ptr, NDER: tl.constexpr, SIG_C: tl.constexpr):
    """silu^(j)(x) for j < NDER as (BLOCK, J_PAD)."""
    sig = 1.0 / (1.0 + tl.exp(-x))
    om = 1.0 - sig
    sp = sig * om
    m2 = 1.0 - 2.0 * sig
    out = tl.where((j_idx == 0)[None, :], (x * sig)[:, None], 0.0)
    if NDER > 1:
        out += tl.where((j_idx == 1)[None, :], (sig * (1.0 + x * om))[:, None], 0.0)
    if NDER > 2:
        out += tl.where((j_idx == 2)[None, :], (sp * (2.0 + x * m2))[:, None], 0.0)
    if NDER > 3:
        v3 = sp * m2 * (2.0 + x * m2) + sp * (m2 - 2.0 * x * sp)
        out += tl.where((j_idx == 3)[None, :], v3[:, None], 0.0)
    if NDER > 4:
        prev = tl.zeros(x.shape, dtype=x.dtype)
        for c in tl.static_range(SIG_C):
            prev = prev * sig + tl.load(sig_ptr + 3 * SIG_C + SIG_C - 1 - c).to(x.dtype)
        for j in tl.static_range(4, NDER):
            acc = tl.zeros(x.shape, dtype=x.dtype)
            for c in tl.static_range(SIG_C):
                acc = acc * sig + tl.load(sig_ptr + j * SIG_C + SIG_C - 1 - c).to(x.dtype)
            out += tl.where((j_idx == j)[None, :], (x * acc + j * prev)[:, None], 0.0)
            prev = acc
    return out

@triton.jit
def _chain(rows_ptr, n, nmask, i, n_in, n_rows, n_terms, t_row, t_j, t_coef, t_nfac, t_fac, s_idx, j_idx,
           dt: tl.constexpr, MAXF: tl.constexpr):
    """W[b, s, j] (BLOCK, S_PAD, J_PAD): the Faà di Bruno coefficients of input i (W[:, 0, 0] = 1)."""
    base = rows_ptr + n * (n_rows * n_in) + i
    w = tl.where(((s_idx == 0)[:, None] & (j_idx == 0)[None, :])[None, :, :], 1.0, 0.0).to(dt)
    w = w + tl.zeros((n.shape[0], s_idx.shape[0], j_idx.shape[0]), dtype=dt)
    for t in range(n_terms):
        row = tl.load(t_row + t)
        jj = tl.load(t_j + t)
        prod = tl.full(n.shape, 1.0, dt) * tl.load(t_coef + t).to(dt)
        nf = tl.load(t_nfac + t)
        for f in tl.static_range(MAXF):
            fac = tl.load(t_fac + t * MAXF + f)
            use = nmask & ((tl.zeros(n.shape, dtype=tl.int32) + f) < nf)
            prod = prod * tl.load(base + fac * n_in, mask=use, other=1.0)
        sel = ((s_idx == row)[:, None] & (j_idx == jj)[None, :])[None, :, :]
        w += tl.where(sel, prod[:, None, None], 0.0)
    return w

@triton.jit
def _phi(table_ptr, wb_ptr, i, n_out, W, cell, nmask, bases, sil, j_idx, q_idx, o_idx, K: tl.constexpr):
    """phi[b, j, o] (BLOCK, J_PAD, O_PAD) = sum_q B[b, j, q] C[i, cell + q, o] + silu^(j) Wb[o, i]."""
    omask = o_idx < n_out
    wb = tl.load(wb_ptr + i * n_out + o_idx, mask=omask, other=0.0)  # row i of Wb^T
    phi = sil[:, :, None] * wb[None, None, :]
    for q in tl.static_range(K + 1):
        bq = tl.sum(tl.where((q_idx == q)[None, None, :], bases, 0.0), axis=2)  # (BLOCK, J_PAD)
        ptr = table_ptr + (i * W + cell + q)[:, None] * n_out + o_idx[None, :]
        coef = tl.load(ptr, mask=nmask[:, None] & omask[None, :], other=0.0)  # (BLOCK, O_PAD)
        phi += bq[:, :, None] * coef[:, None, :]
    return phi

@triton.jit
def _edge_input(
    rows_ptr, table_ptr, wb_ptr, t0_ptr, hs_ptr, sig_ptr, t_row, t_j, t_coef, t_nfac, t_fac, n, nmask, i,
    n_in, n_out, n_rows, n_terms, grid, W, s_idx, j_idx, q_idx, o_idx, dt, K: tl.constexpr, NDER: tl.constexpr,
    SIG_C: tl.constexpr, MAXF: tl.constexpr,
):
    """Input i at the block's points n: its value x, cells and bases (NDER derivatives), silu's derivatives,
    the chain coefficients w (BLOCK, S_PAD, J_PAD) and every edge's derivatives phi (BLOCK, J_PAD, O_PAD)."""
    x = tl.load(rows_ptr + n * (n_rows * n_in) + i, mask=nmask, other=0.0)
    t0, hs = tl.load(t0_ptr + i), tl.load(hs_ptr + i)
    cell, bases = _basis(x, t0, hs, grid, j_idx, q_idx, K, NDER)
    sil = _silu(x, j_idx, sig_ptr, NDER, SIG_C)
    w = _chain(rows_ptr, n, nmask, i, n_in, n_rows, n_terms, t_row, t_j, t_coef, t_nfac, t_fac,
               s_idx, j_idx, dt, MAXF)
    phi = _phi(table_ptr, wb_ptr, i, n_out, W, cell, nmask, bases, sil, j_idx, q_idx, o_idx, K)
    return x, cell, bases, sil, w, phi


@triton.jit
def forward_kernel(
    rows_ptr, table_ptr, wb_ptr, t0_ptr, hs_ptr, out_ptr,
    t_row, t_j, t_coef, t_nfac, t_fac, sig_ptr,
    n_pts, n_in, n_out, n_rows, n_terms, grid, W,
    K: tl.constexpr, ORDER: tl.constexpr, S_PAD: tl.constexpr, J_PAD: tl.constexpr, Q_PAD: tl.constexpr,
    O_PAD: tl.constexpr, SIG_C: tl.constexpr, MAXF: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    n = pid * BLOCK + tl.arange(0, BLOCK)
    nmask = n < n_pts
    s_idx, j_idx = tl.arange(0, S_PAD), tl.arange(0, J_PAD)
    q_idx, o_idx = tl.arange(0, Q_PAD), tl.arange(0, O_PAD)
    dt = rows_ptr.dtype.element_ty
    acc = tl.zeros((BLOCK, S_PAD, O_PAD), dtype=dt)
    for i in range(n_in):
        x, cell, bases, sil, w, phi = _edge_input(
            rows_ptr, table_ptr, wb_ptr, t0_ptr, hs_ptr, sig_ptr, t_row, t_j, t_coef, t_nfac, t_fac, n, nmask, i,
            n_in, n_out, n_rows, n_terms, grid, W, s_idx, j_idx, q_idx, o_idx, dt, K, ORDER + 1, SIG_C, MAXF,
        )
        for j in tl.static_range(ORDER + 1):
            wj = tl.sum(tl.where((j_idx == j)[None, None, :], w, 0.0), axis=2)  # (BLOCK, S_PAD)
            pj = tl.sum(tl.where((j_idx == j)[None, :, None], phi, 0.0), axis=1)  # (BLOCK, O_PAD)
            acc += wj[:, :, None] * pj[:, None, :]
    ptr = out_ptr + n[:, None, None] * (n_rows * n_out) + s_idx[None, :, None] * n_out + o_idx[None, None, :]
    mask = nmask[:, None, None] & (s_idx < n_rows)[None, :, None] & (o_idx < n_out)[None, None, :]
    tl.store(ptr, acc, mask=mask)

@triton.jit
def backward_kernel(
    rows_ptr, table_ptr, wb_ptr, t0_ptr, hs_ptr, g_out_ptr, g_rows_ptr, g_table_ptr, g_wb_ptr,
    t_row, t_j, t_coef, t_nfac, t_fac, sig_ptr,
    n_pts, n_in, n_out, n_rows, n_terms, grid, W, n_blocks,
    K: tl.constexpr, ORDER: tl.constexpr, S_PAD: tl.constexpr, J_PAD: tl.constexpr, Q_PAD: tl.constexpr,
    O_PAD: tl.constexpr, W_PAD: tl.constexpr, SIG_C: tl.constexpr, MAXF: tl.constexpr, BLOCK: tl.constexpr,
    USE_DOT: tl.constexpr,
):
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    s_idx, j_idx = tl.arange(0, S_PAD), tl.arange(0, J_PAD)
    q_idx, o_idx, w_idx = tl.arange(0, Q_PAD), tl.arange(0, O_PAD), tl.arange(0, W_PAD)
    omask = o_idx < n_out
    dt = rows_ptr.dtype.element_ty
    for blk in range(pid, n_blocks, programs):
        n = blk * BLOCK + tl.arange(0, BLOCK)
        nmask = n < n_pts
        gptr = g_out_ptr + n[:, None, None] * (n_rows * n_out) + s_idx[None, :, None] * n_out
        gmask = nmask[:, None, None] & (s_idx < n_rows)[None, :, None] & omask[None, None, :]
        g = tl.load(gptr + o_idx[None, None, :], mask=gmask, other=0.0)  # (BLOCK, S_PAD, O_PAD)
        for i in range(n_in):
            x, cell, bases, sil, w, phi = _edge_input(
                rows_ptr, table_ptr, wb_ptr, t0_ptr, hs_ptr, sig_ptr, t_row, t_j, t_coef, t_nfac, t_fac, n, nmask, i,
                n_in, n_out, n_rows, n_terms, grid, W, s_idx, j_idx, q_idx, o_idx, dt, K, ORDER + 2, SIG_C, MAXF,
            )
            gh = tl.zeros((BLOCK,), dtype=dt)
            gw = tl.zeros((BLOCK, S_PAD, J_PAD), dtype=dt)  # d loss / d W
            contrib = tl.zeros((BLOCK, Q_PAD, O_PAD), dtype=dt)  # d loss / d C[i, cell + q, o]
            gwb = tl.zeros((O_PAD,), dtype=dt)
            for j in tl.static_range(ORDER + 1):
                sel_j = j_idx == j
                wj = tl.sum(tl.where(sel_j[None, None, :], w, 0.0), axis=2)  # (BLOCK, S_PAD)
                pj = tl.sum(tl.where(sel_j[None, :, None], phi, 0.0), axis=1)  # (BLOCK, O_PAD)
                pj1 = tl.sum(tl.where((j_idx == j + 1)[None, :, None], phi, 0.0), axis=1)
                ga = tl.sum(wj[:, :, None] * g, axis=1)  # (BLOCK, O_PAD): d loss / d phi_j
                gh += tl.sum(ga * pj1, axis=1)
                gw += tl.where(sel_j[None, None, :], tl.sum(g * pj[:, None, :], axis=2)[:, :, None], 0.0)
                bj = tl.sum(tl.where(sel_j[None, :, None], bases, 0.0), axis=1)  # (BLOCK, Q_PAD)
                contrib += bj[:, :, None] * ga[:, None, :]
                sj = tl.sum(tl.where(sel_j[None, :], sil, 0.0), axis=1)
                gwb += tl.sum(tl.where(nmask[:, None], sj[:, None] * ga, 0.0), axis=0)
            # the coefficients' gradient: one-hot (table row == cell + q) times the contributions
            hot = (w_idx[:, None, None] == (cell[None, :, None] + q_idx[None, None, :])) & nmask[None, :, None]
            hot = hot & (q_idx <= K)[None, None, :]
            if USE_DOT:  # float32: tensor cores, exact products (ieee)
                dense = tl.dot(tl.reshape(hot.to(dt), (W_PAD, BLOCK * Q_PAD)),
                               tl.reshape(contrib, (BLOCK * Q_PAD, O_PAD)), input_precision="ieee")
            else:  # float64: the same sum, q by q
                dense = tl.zeros((W_PAD, O_PAD), dtype=dt)
                for q in tl.static_range(K + 1):
                    hq = tl.sum(tl.where((q_idx == q)[None, None, :], hot.to(dt), 0.0), axis=2)  # (W_PAD, BLOCK)
                    cq = tl.sum(tl.where((q_idx == q)[None, :, None], contrib, 0.0), axis=1)  # (BLOCK, O_PAD)
                    dense += tl.sum(hq[:, :, None] * cq[None, :, :], axis=1)
            tptr = g_table_ptr + ((pid * n_in + i) * W + w_idx[:, None]) * n_out + o_idx[None, :]
            tmask = (w_idx < W)[:, None] & omask[None, :]
            tl.store(tptr, tl.load(tptr, mask=tmask, other=0.0) + dense, mask=tmask)
            bptr = g_wb_ptr + (pid * n_in + i) * n_out + o_idx
            tl.store(bptr, tl.load(bptr, mask=omask, other=0.0) + gwb, mask=omask)
            # the input rows' gradient: gh for the value, the terms' products for the others
            grow = tl.where((s_idx == 0)[None, :], gh[:, None], 0.0)
            base = rows_ptr + n * (n_rows * n_in) + i
            for t in range(n_terms):
                row = tl.load(t_row + t)
                jj = tl.load(t_j + t)
                sel = ((s_idx == row)[:, None] & (j_idx == jj)[None, :])[None, :, :]
                gq = tl.sum(tl.sum(tl.where(sel, gw, 0.0), axis=2), axis=1) * tl.load(t_coef + t).to(dt)
                nf = tl.load(t_nfac + t)
                for a in tl.static_range(MAXF):
                    fa = tl.load(t_fac + t * MAXF + a)
                    others = gq
                    for b in tl.static_range(MAXF):
                        if b != a:
                            fb = tl.load(t_fac + t * MAXF + b)
                            use = nmask & ((tl.zeros(n.shape, dtype=tl.int32) + b) < nf)
                            others = others * tl.load(base + fb * n_in, mask=use, other=1.0)
                    others = tl.where(a < nf, others, 0.0)
                    grow += tl.where((s_idx == fa)[None, :], others[:, None], 0.0)
            rptr = g_rows_ptr + n[:, None] * (n_rows * n_in) + s_idx[None, :] * n_in + i
            tl.store(rptr, grow, mask=nmask[:, None] & (s_idx < n_rows)[None, :])
