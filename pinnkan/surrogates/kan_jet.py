"""Fused jet propagation through one KAN layer on a uniform grid.

One autograd node computes, for inputs carrying (h, dh, d2h), the outputs'
(value, gradient, Hessian diagonal), with a hand-derived backward. Per edge
(i -> o) it needs phi_j = d^j phi / dh^j for j = 0..order (+1 for the backward):

    phi_j[i,n,o] = sum_r B_j[i,n,r] C[i, cell+r, o] + silu^(j)(h[i,n]) Wb[o,i]
    V[n,o]   = sum_i phi_0
    G[n,a,o] = sum_i dh[i,n,a] phi_1
    D[n,a,o] = sum_i dh[i,n,a]^2 phi_2 + d2h[i,n,a] phi_1

Backward, from gV, gG, gD:
    gphi_0 = gV,  gphi_1 = sum_a dh gG + d2h gD,  gphi_2 = sum_a dh^2 gD
    gh = sum_j sum_o gphi_j phi_{j+1}
    gdh = sum_o gG phi_1 + 2 dh gD phi_2,   gd2h = sum_o gD phi_1
    gWb[o,i] = sum_{n,j} silu^(j) gphi_j,   gC[i, cell+r, o] += sum_j B_j gphi_j
The PyTorch-autograd version of the same layer (KANLayer.rows with fused=False)
is the reference it is tested against.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pinnkan.bspline import local_basis


def silu_derivatives(h: Tensor, order: int) -> list[Tensor]:
    """silu and its derivatives up to ``order`` (<= 3) at h."""
    sig = torch.sigmoid(h)
    one_m = 1 - sig
    out = [h * sig]
    if order >= 1:
        out.append(sig * (1 + h * one_m))
    if order >= 2:
        out.append(sig * one_m * (2 + h * (1 - 2 * sig)))
    if order >= 3:
        # d/dh [s(1-s)(2 + h(1-2s))] with s' = s(1-s)
        sp = sig * one_m
        out.append(sp * (1 - 2 * sig) * (2 + h * (1 - 2 * sig)) + sp * ((1 - 2 * sig) - 2 * h * sp))
    return out


def _edges(h_t: Tensor, table: Tensor, wb_t: Tensor, t0, hstep, grid: int, k: int, order: int):
    """phi_j (in, N, out) for j = 0..order, plus what the backward needs.

    h_t: (in, N); table: (in, G + 3k, out) padded coefficients; wb_t: (in, out).
    """
    n_in, n = h_t.shape
    cell, b = local_basis(h_t.T, t0, hstep, grid, k, order)  # cell (N, in), b[j] (N, in, K)
    width = table.shape[1]
    idx = (cell.T + torch.arange(n_in, device=h_t.device)[:, None] * width).unsqueeze(-1) + torch.arange(
        k + 1, device=h_t.device
    )  # (in, N, K)
    coef = table.reshape(-1, table.shape[-1])[idx.reshape(-1)].view(n_in, n, k + 1, -1)  # (in, N, K, out)
    basis = torch.stack([bj.permute(1, 0, 2) for bj in b], dim=2)  # (in, N, J, K)
    s = silu_derivatives(h_t, order)
    # broadcast-multiply-sum: batched matmuls of (J, K) @ (K, out) are slow on the CPU
    phi = torch.stack(s, dim=2).unsqueeze(-1) * wb_t[:, None, None, :]
    for r in range(k + 1):
        phi = phi + basis[:, :, :, r : r + 1] * coef[:, :, None, r]
    return phi, basis, coef, idx, torch.stack(s, dim=2)


# "auto": compiled CPU kernels (kan_cpu.py) for CPU tensors when numba is there,
# PyTorch ops otherwise; "torch" forces the PyTorch ops (the reference).
BACKEND = "auto"


def _compiled(h: Tensor) -> bool:
    from pinnkan.surrogates import kan_cpu

    return BACKEND == "auto" and h.device.type == "cpu" and kan_cpu.AVAILABLE


class KANLayerJet(torch.autograd.Function):
    """(h (N, in), dh (N, d, in), d2h (N, d, in) or None) -> (V (N, out), G (N, d, out), D (N, d, out) or None)."""

    @staticmethod
    def forward(ctx, h, dh, d2h, table, wb, t0, hstep, grid: int, k: int):
        ctx.compiled = _compiled(h)
        if ctx.compiled:
            from pinnkan.surrogates import kan_cpu

            # only the inputs are kept: the backward kernel recomputes the local bases
            ctx.save_for_backward(h, dh, d2h, table, wb, t0, hstep)
            ctx.grid, ctx.k = grid, k
            return kan_cpu.jet_forward(h, dh, d2h, table, wb, t0, hstep, grid, k)
        order = 1 if d2h is None else 2
        h_t = h.T
        dh_t = dh.permute(2, 0, 1)  # (in, N, d)
        phi, basis, coef, idx, s = _edges(h_t, table, wb.T, t0, hstep, grid, k, order + 1)
        p1 = phi[:, :, 1]
        value = phi[:, :, 0].sum(0)
        grad = (dh_t.unsqueeze(-1) * p1.unsqueeze(2)).sum(0)
        diag = None
        if order == 2:
            d2h_t = d2h.permute(2, 0, 1)
            diag = (
                dh_t.square().unsqueeze(-1) * phi[:, :, 2].unsqueeze(2) + d2h_t.unsqueeze(-1) * p1.unsqueeze(2)
            ).sum(0)
        else:
            d2h_t = None
        ctx.save_for_backward(dh_t, d2h_t if d2h_t is not None else h.new_empty(0), phi, basis, idx, s)
        ctx.order, ctx.table_shape = order, table.shape
        return value, grad, diag

    @staticmethod
    def backward(ctx, g_value, g_grad, g_diag):
        if ctx.compiled:
            from pinnkan.surrogates import kan_cpu

            h, dh, d2h, table, wb, t0, hstep = ctx.saved_tensors
            grads = kan_cpu.jet_backward(h, dh, d2h, table, wb, t0, hstep, ctx.grid, ctx.k, g_value, g_grad, g_diag)
            return (*grads, None, None, None, None)
        dh_t, d2h_t, phi, basis, idx, s = ctx.saved_tensors
        order = ctx.order
        n_in, n, d = dh_t.shape
        n_out = phi.shape[-1]
        zeros = phi.new_zeros(n, n_out)
        g_value = zeros if g_value is None else g_value
        g_grad = phi.new_zeros(n, d, n_out) if g_grad is None else g_grad
        gphi = [g_value.unsqueeze(0).expand(n_in, n, n_out)]
        # gphi_1 = sum_a dh gG (+ d2h gD)
        gp1 = (dh_t.unsqueeze(-1) * g_grad.unsqueeze(0)).sum(2)
        g_dh = (g_grad.unsqueeze(0) * phi[:, :, 1].unsqueeze(2)).sum(-1)  # (in, N, d)
        g_d2h = None
        if order == 2 and g_diag is not None:
            gD = g_diag.unsqueeze(0)  # (1, N, d, out)
            gp1 = gp1 + (d2h_t.unsqueeze(-1) * gD).sum(2)
            gp2 = (dh_t.square().unsqueeze(-1) * gD).sum(2)
            g_dh = g_dh + 2 * dh_t * (gD * phi[:, :, 2].unsqueeze(2)).sum(-1)
            g_d2h = (gD * phi[:, :, 1].unsqueeze(2)).sum(-1)
            gphi += [gp1, gp2]
        else:
            gphi += [gp1]
        gphi_t = torch.stack(gphi, dim=2)  # (in, N, J, out), J = len(gphi)
        j = gphi_t.shape[2]
        g_h = (gphi_t * phi[:, :, 1 : j + 1]).sum((2, 3))  # (in, N)
        g_wb = torch.einsum("injo,inj->oi", gphi_t, s[:, :, :j])
        per_coef = torch.stack(
            [(basis[:, :, :j, r : r + 1] * gphi_t).sum(2) for r in range(basis.shape[-1])], dim=2
        )  # (in, N, K, out)
        g_table = phi.new_zeros(ctx.table_shape).view(-1, n_out)
        g_table.index_add_(0, idx.reshape(-1), per_coef.reshape(-1, n_out))
        g_table = g_table.view(ctx.table_shape)
        g_d2h_out = None if g_d2h is None else g_d2h.permute(1, 2, 0)
        return g_h.T, g_dh.permute(1, 2, 0), g_d2h_out, g_table, g_wb, None, None, None, None
