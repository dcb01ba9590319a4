"""Jet propagation through a Chebyshev KAN layer as one autograd node, and through layer norm.

Forward (per point n, row s, input i, basis m; B_j = d^j/dh^j T_m(tanh h)):

    A[s=0]       = B_0
    A[s=grad a]  = B_1 dh_a
    A[s=second]  = B_2 dh_a^2 + B_1 d2h_a        (dh_a^2 summed over a for a Laplacian row)
    out[n, s, o] = sum_{i,m} A[n, s, i, m] C[o, i, m]

Backward, from gout: gC = gout^T A and gA = gout C; with g_j[n, s, i] = sum_m gA B_j,

    gh     = g_1[value] + sum_a g_2[grad a] dh_a + sum_second (g_3 dh^2 + g_2 d2h)
    gdh_a  = g_1[grad a] + 2 dh_a g_2[second a (or the Laplacian row)]
    gd2h   = g_1[second]

so the node needs B_0..B_3 and first-order autograd only. ``ChebyshevLayer.rows``
with ``fused = False`` runs the same math in PyTorch ops: the reference.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pinnkan.jet import Rows
from pinnkan.layout import Layout
from pinnkan.surrogates.chebyshev_basis import edge_basis


def row_basis(b: list[Tensor], dh: Tensor, d2h: Tensor | None, laplacian: bool) -> tuple[Tensor, Tensor | None]:
    """The stacked basis A (N, S, in, M) from B_j (N, in, M) and the rows' dh (N, D, in), d2h (N, K, in) or None,
    and the squared first derivatives (N, K, in) of the second-order rows (None below order 2)."""
    parts = [b[0].unsqueeze(1), b[1].unsqueeze(1) * dh.unsqueeze(-1)]
    sq = None
    if d2h is not None:
        sq = dh.square().sum(1, keepdim=True) if laplacian else dh.square()
        parts.append(b[2].unsqueeze(1) * sq.unsqueeze(-1) + b[1].unsqueeze(1) * d2h.unsqueeze(-1))
    return torch.cat(parts, dim=1), sq


# "auto": compiled CPU kernels (chebyshev_cpu.py) for CPU tensors when numba is there,
# PyTorch ops otherwise; "torch" forces the PyTorch ops (the reference).
BACKEND = "auto"
# layers with at most this many outputs skip the row basis (its matmuls are matrix-vector products
# there): a compiled kernel contracts per point instead (chebyshev_cpu.narrow_forward)
NARROW = 4


def _compiled(t: Tensor) -> bool:
    from pinnkan.surrogates import chebyshev_cpu

    return BACKEND == "auto" and t.device.type == "cpu" and chebyshev_cpu.AVAILABLE


class ChebyshevLayerJet(torch.autograd.Function):
    """rows (N, S, in), coef (out, in, M) -> rows (N, S, out); first-order backward only.

    For CPU tensors the compiled kernels work on feature-major rows (in, S, N): the row
    basis A (in, M, S, N) is built by them and both contractions with the coefficients
    (out, in * M) are matmuls over it (layers with few outputs contract in the kernels
    instead); the output rows come back as a transposed view of (out, S, N), which the
    next layer reads without a copy. Otherwise the same math in PyTorch ops.
    """

    @staticmethod
    def forward(ctx, rows: Tensor, coef: Tensor, dim: int, order: int, laplacian: bool) -> Tensor:

        ctx.shape = (dim, order, laplacian)
        ctx.compiled = _compiled(rows)
        degree = coef.shape[-1] - 1
        ctx.narrow = ctx.compiled and coef.shape[0] <= NARROW
        n_out = coef.shape[0]
        if ctx.compiled:
            from pinnkan.surrogates import chebyshev_cpu

            fm = chebyshev_cpu.feature_major(rows)  # (in, S, N)
            th = chebyshev_cpu.tanh_values(fm)
            ctx.th = th
            _, s, n = fm.shape
            if ctx.narrow:
                ctx.save_for_backward(fm, coef)
                out = chebyshev_cpu.narrow_forward(fm, th, coef, dim, laplacian)
            else:
                a = chebyshev_cpu.row_basis(fm, th, degree + 1, dim, laplacian)  # (in, M, S, N)
                ctx.save_for_backward(fm, coef, a)
                out = coef.reshape(n_out, -1) @ a.view(-1, s * n)
            return out.view(n_out, s, n).permute(2, 1, 0)
        h, dh, d2h = Rows(rows, Layout.standard(dim, order, laplacian)).parts()
        b = edge_basis(h, degree, order + 1)  # one more for the backward
        a, sq = row_basis(b, dh, d2h, laplacian)
        ctx.save_for_backward(rows, coef, a, dh, d2h, sq, *b[1:])
        n, s = a.shape[:2]
        out = a.view(n * s, -1) @ coef.reshape(n_out, -1).T
        return out.view(n, s, -1)

    @staticmethod
    def backward(ctx, gout: Tensor):
        dim, order, laplacian = ctx.shape
        want_rows = ctx.needs_input_grad[0]
        if ctx.compiled:
            from pinnkan.surrogates import chebyshev_cpu

            g_fm = chebyshev_cpu.feature_major(gout)  # (out, S, N)
            if ctx.narrow:
                fm, coef = ctx.saved_tensors
                g_rows, gcoef = chebyshev_cpu.narrow_backward(fm, ctx.th, coef, dim, laplacian, g_fm, want_rows)
            else:
                fm, coef, a = ctx.saved_tensors
                n_out, (_, s, n) = coef.shape[0], fm.shape
                g2d = g_fm.view(n_out, s * n)
                gcoef = (g2d @ a.view(-1, s * n).T).view_as(coef)
                g_rows = None
                if want_rows:
                    ga = (coef.reshape(n_out, -1).T @ g2d).view_as(a)
                    g_rows = chebyshev_cpu.row_basis_backward(fm, ctx.th, ga, dim, laplacian)
            return (None if g_rows is None else g_rows.permute(2, 1, 0)), gcoef, None, None, None
        rows, coef, a, *rest = ctx.saved_tensors
        n, s = a.shape[:2]
        g2d = gout.reshape(n * s, -1)
        gcoef = (g2d.T @ a.view(n * s, -1)).view_as(coef)
        if not want_rows:  # the first layer's coordinates: only the coefficients' gradient
            return None, gcoef, None, None, None
        ga = (g2d @ coef.reshape(coef.shape[0], -1)).view_as(a)
        dh, d2h, sq, *b = rest  # b: B_1, B_2 (, B_3)
        # g_j[n, s, i] = sum_m gA B_j, for the j each row needs
        g1 = (ga * b[0].unsqueeze(1)).sum(-1)
        g2 = (ga[:, 1:] * b[1].unsqueeze(1)).sum(-1)  # rows 1.. (grad and second)
        gh = g1[:, 0] + (g2[:, :dim] * dh).sum(1)
        gdh = g1[:, 1 : 1 + dim].clone()
        gd2h = None
        if order >= 2:
            g3 = (ga[:, 1 + dim :] * b[2].unsqueeze(1)).sum(-1)
            gsec = g2[:, dim:]
            gh = gh + (g3 * sq + gsec * d2h).sum(1)
            gdh = gdh + 2 * dh * gsec  # a Laplacian row broadcasts over the D directions
            gd2h = g1[:, 1 + dim :]
        parts = [gh.unsqueeze(1), gdh] + ([gd2h] if gd2h is not None else [])
        return torch.cat(parts, dim=1), gcoef, None, None, None


def layer_norm_rows(r: Rows, eps: float) -> Tensor:
    """Rows (N, S, n) of y = c / s, c = h - mean(h), s = sqrt(mean(c^2) + eps), features last.

    Per direction a, with <.> the feature mean:
        dc = dh - <dh>,  ds = <c dc> / s,  dy = dc / s - c ds / s^2
        d2s = (<dc^2 + c d2c> - ds^2) / s
        d2y = d2c / s - 2 dc ds / s^2 - c d2s / s^2 + 2 c ds^2 / s^3
    A Laplacian row sums the second-order lines over a: every product term is
    summed from the gradient rows, every linear one comes from the Laplacian row.
    """
    rows = r.rows - r.rows.mean(-1, keepdim=True)  # centring is linear: every row at once
    c = rows[:, :1]
    s = (c.square().mean(-1, keepdim=True) + eps).sqrt()  # (N, 1, 1)
    if r.order == 0:
        return c / s
    dim = r.dim
    dc = rows[:, 1 : 1 + dim]
    ds = (c * dc).mean(-1, keepdim=True) / s  # (N, D, 1)
    parts = [c / s, dc / s - c * ds / s.square()]
    if r.order >= 2:
        d2c = rows[:, 1 + dim :]
        if r.laplacian:
            dcds = (dc * ds).sum(1, keepdim=True)
            ds2 = ds.square().sum(1, keepdim=True)
            d2s = ((dc.square().sum(1, keepdim=True) + c * d2c).mean(-1, keepdim=True) - ds2) / s
        else:
            dcds, ds2 = dc * ds, ds.square()
            d2s = ((dc.square() + c * d2c).mean(-1, keepdim=True) - ds2) / s
        parts.append(d2c / s - 2 * dcds / s.square() - c * d2s / s.square() + 2 * c * ds2 / s**3)
    return torch.cat(parts, dim=1)
