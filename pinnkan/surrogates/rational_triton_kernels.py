"""The Triton kernels of rational_triton.py (imported on first use, so TRITON_INTERPRET set before then counts).

Module-level on purpose: Triton's interpreter re-executes a kernel's source in its module's globals, so the
helpers a kernel calls must live there.
"""

# ruff: noqa: E501
import triton
import triton.language as tl


@triton.jit
def _horner(c_ptr, g, cmask, x, NC: tl.constexpr, SHIFT: tl.constexpr):
    """d^k/dx^k sum_j c[g, j] x^(j + SHIFT), k = 0..3, at x (BN, BC); g (BC,) each channel's group."""
    zero = tl.zeros(x.shape, dtype=x.dtype)
    p0 = zero + tl.load(c_ptr + g * NC + (NC - 1), mask=cmask, other=0.0).to(x.dtype)[None, :]
    p1 = zero
    p2 = zero
    p3 = zero
    for jj in tl.static_range(NC - 1):
        cj = tl.load(c_ptr + g * NC + (NC - 2 - jj), mask=cmask, other=0.0).to(x.dtype)[None, :]
        p3 = p3 * x + 3.0 * p2
        p2 = p2 * x + 2.0 * p1
        p1 = p1 * x + p0
        p0 = p0 * x + cj
    if SHIFT == 1:  # S = x T: S^(k) = x T^(k) + k T^(k-1)
        p3 = x * p3 + 3.0 * p2
        p2 = x * p2 + 2.0 * p1
        p1 = x * p1 + p0
        p0 = x * p0
    return p0, p1, p2, p3


@triton.jit
def _rational(num_ptr, den_ptr, g, cmask, x, NN: tl.constexpr, ND: tl.constexpr):
    """R, R', R'' at x (BN, BC) and the pieces the backward reuses."""
    p0, p1, p2, p3 = _horner(num_ptr, g, cmask, x, NN, 0)
    s0, s1, s2, s3 = _horner(den_ptr, g, cmask, x, ND, 1)
    u = 1.0 + 2.0 * s0
    q = 1.0 + s0 + s0 * s0
    q1 = s1 * u
    q2 = s2 * u + 2.0 * s1 * s1
    r0 = p0 / q
    r1 = (p1 - r0 * q1) / q
    r2 = (p2 - 2.0 * r1 * q1 - r0 * q2) / q
    return p1, p2, p3, s1, s2, s3, u, q, q1, q2, r0, r1, r2


@triton.jit
def forward_kernel(
    rows_ptr, num_ptr, den_ptr, group_ptr, out_ptr, n_pts, n_ch, n_rows, dim,
    NN: tl.constexpr, ND: tl.constexpr, LAPLACIAN: tl.constexpr, BN: tl.constexpr, BC: tl.constexpr,
):
    """out (N, S, C): R(h); R'(h) dh_a; R''(h) sq + R'(h) d2h for the second-order rows."""
    n = tl.program_id(0) * BN + tl.arange(0, BN)
    c = tl.program_id(1) * BC + tl.arange(0, BC)
    cmask = c < n_ch
    mask = (n < n_pts)[:, None] & cmask[None, :]
    g = tl.load(group_ptr + c, mask=cmask, other=0)
    base = n[:, None] * (n_rows * n_ch) + c[None, :]
    x = tl.load(rows_ptr + base, mask=mask, other=0.0)
    _, _, _, _, _, _, _, _, _, _, r0, r1, r2 = _rational(num_ptr, den_ptr, g, cmask, x, NN, ND)
    tl.store(out_ptr + base, r0, mask=mask)
    sq = tl.zeros(x.shape, dtype=x.dtype)
    for a in range(dim):
        dh = tl.load(rows_ptr + base + (1 + a) * n_ch, mask=mask, other=0.0)
        tl.store(out_ptr + base + (1 + a) * n_ch, r1 * dh, mask=mask)
        sq += dh * dh
    for k in range(n_rows - 1 - dim):
        if not LAPLACIAN:
            dh = tl.load(rows_ptr + base + (1 + k) * n_ch, mask=mask, other=0.0)
            sq = dh * dh
        d2h = tl.load(rows_ptr + base + (1 + dim + k) * n_ch, mask=mask, other=0.0)
        tl.store(out_ptr + base + (1 + dim + k) * n_ch, r2 * sq + r1 * d2h, mask=mask)


@triton.jit
def backward_kernel(
    rows_ptr, num_ptr, den_ptr, group_ptr, g_out_ptr, g_rows_ptr, g_num_ptr, g_den_ptr,
    n_pts, n_ch, n_rows, dim, n_blocks,
    NN: tl.constexpr, ND: tl.constexpr, LAPLACIAN: tl.constexpr, BN: tl.constexpr, BC: tl.constexpr,
    J_PAD: tl.constexpr,
):
    """g_rows (N, S, C); g_num (programs, C, NN), g_den (programs, C, ND): each program adds the blocks of points
    it walks into its own slice, per channel (the caller sums the slices and the channels of each group)."""
    pid = tl.program_id(0)
    programs = tl.num_programs(0)
    c = tl.program_id(1) * BC + tl.arange(0, BC)
    cmask = c < n_ch
    g = tl.load(group_ptr + c, mask=cmask, other=0)
    j_idx = tl.arange(0, J_PAD)
    dt = rows_ptr.dtype.element_ty
    acc_num = tl.zeros((BC, J_PAD), dtype=dt)
    acc_den = tl.zeros((BC, J_PAD), dtype=dt)
    n_sec = n_rows - 1 - dim
    for blk in range(pid, n_blocks, programs):
        n = blk * BN + tl.arange(0, BN)
        mask = (n < n_pts)[:, None] & cmask[None, :]
        base = n[:, None] * (n_rows * n_ch) + c[None, :]
        x = tl.load(rows_ptr + base, mask=mask, other=0.0)
        p1, p2, p3, s1, s2, s3, u, q, q1, q2, r0, r1, r2 = _rational(num_ptr, den_ptr, g, cmask, x, NN, ND)
        # upstream adjoints of R, R', R''
        b0 = tl.load(g_out_ptr + base, mask=mask, other=0.0)
        b1 = tl.zeros(x.shape, dtype=dt)
        b2 = tl.zeros(x.shape, dtype=dt)
        sqsum = tl.zeros(x.shape, dtype=dt)
        for a in range(dim):
            dh = tl.load(rows_ptr + base + (1 + a) * n_ch, mask=mask, other=0.0)
            ga = tl.load(g_out_ptr + base + (1 + a) * n_ch, mask=mask, other=0.0)
            b1 += dh * ga
            sqsum += dh * dh
            # the gradient rows' own gradient: R' g, plus 2 dh R'' g of their second-order row
            v = ga * r1
            if n_sec > 0:
                k = a
                if LAPLACIAN:
                    k = 0
                gs = tl.load(g_out_ptr + base + (1 + dim + k) * n_ch, mask=mask, other=0.0)
                v += 2.0 * dh * gs * r2
            tl.store(g_rows_ptr + base + (1 + a) * n_ch, v, mask=mask)
        for k in range(n_sec):
            gs = tl.load(g_out_ptr + base + (1 + dim + k) * n_ch, mask=mask, other=0.0)
            d2h = tl.load(rows_ptr + base + (1 + dim + k) * n_ch, mask=mask, other=0.0)
            sq = sqsum
            if not LAPLACIAN:
                dh = tl.load(rows_ptr + base + (1 + k) * n_ch, mask=mask, other=0.0)
                sq = dh * dh
            b1 += d2h * gs
            b2 += sq * gs
            tl.store(g_rows_ptr + base + (1 + dim + k) * n_ch, gs * r1, mask=mask)
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
        bs0 = bq * u + 2.0 * s1 * bq1 + 2.0 * s2 * bq2
        bs1 = bq1 * u + 4.0 * s1 * bq2
        bs2 = bq2 * u
        gh = bp0 * p1 + bp1 * p2 + bp2 * p3 + bs0 * s1 + bs1 * s2 + bs2 * s3
        tl.store(g_rows_ptr + base, gh, mask=mask)
        # coefficients: d^k/dx^k x^j = j!/(j-k)! x^(j-k); masked points have zero adjoints
        xp = tl.full(x.shape, 1.0, dt)
        xm1 = tl.zeros(x.shape, dtype=dt)
        xm2 = tl.zeros(x.shape, dtype=dt)
        for j in tl.static_range(NN):
            tn = tl.sum(bp0 * xp + bp1 * (j * xm1) + bp2 * (j * (j - 1) * xm2), axis=0)  # (BC,)
            acc_num += tl.where((j_idx == j)[None, :], tn[:, None], 0.0)
            if j >= 1:
                if j <= ND:
                    td = tl.sum(bs0 * xp + bs1 * (j * xm1) + bs2 * (j * (j - 1) * xm2), axis=0)
                    acc_den += tl.where((j_idx == j - 1)[None, :], td[:, None], 0.0)
            xm2 = xm1
            xm1 = xp
            xp = xp * x
    out = (pid * n_ch + c)[:, None]
    tl.store(g_num_ptr + out * NN + j_idx[None, :], acc_num, mask=cmask[:, None] & (j_idx < NN)[None, :])
    tl.store(g_den_ptr + out * ND + j_idx[None, :], acc_den, mask=cmask[:, None] & (j_idx < ND)[None, :])
