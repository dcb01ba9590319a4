"""Triton kernels for the jet of a group-rational activation (CUDA tensors; CPU tensors under TRITON_INTERPRET=1).

The same math as the numba kernels of rational_cpu.py, on a 2-D grid of
programs over (blocks of ``BN`` points) x (blocks of ``BC`` channels); every
tile lives in registers: per point and channel the group's coefficients are
gathered, P and S = x T and their derivatives to the third come from Horner's
rule, then R, R', R'' and the rows (value R; gradient rows R' dh_a;
second-order rows R'' sq + R' d2h, sq = dh_a^2 or its sum over a for a
Laplacian row).

The backward reverses that small computation (adjoints of R, R', R'' -> of P^(k),
Q^(k) -> of S^(k)) for the input rows' gradient and the coefficients'. It needs
no atomics: each program of the first grid axis walks its own blocks of points
and sums their coefficient gradients, per channel, into its own slice of a
(programs, C, 6) / (programs, C, 4) buffer; the caller sums the slices and the
channels of each group. Not differentiable twice (the autograd node refuses a
double backward).
"""

from __future__ import annotations

import torch

from pinnkan.surrogates.kan_triton import usable  # noqa: F401  (re-exported: one test for both kernel sets)

BN = 32  # points per program
BC_MAX = 32  # channels per program, at most


def _block_c(n_ch: int) -> int:
    return min(BC_MAX, max(2, 1 << max(0, (n_ch - 1).bit_length())))


def _kernels():
    from pinnkan.surrogates import rational_triton_kernels as k

    return k.forward_kernel, k.backward_kernel


def jet_forward(rows, numerator, denominator, group_of, dim: int, laplacian: bool):
    """rows (N, S, C), numerator (G, 6), denominator (G, 4), group_of (C,) -> rows (N, S, C)."""
    forward, _ = _kernels()
    rows = rows.contiguous()
    n, s, n_ch = rows.shape
    out = torch.empty_like(rows)
    bc = _block_c(n_ch)
    grid = (max(1, -(-n // BN)), -(-n_ch // bc))
    forward[grid](
        rows, numerator.contiguous(), denominator.contiguous(), group_of.to(torch.int32).contiguous(), out,
        n, n_ch, s, dim, NN=numerator.shape[1], ND=denominator.shape[1], LAPLACIAN=laplacian, BN=BN, BC=bc,
    )
    return out


def jet_backward(rows, numerator, denominator, group_of, dim: int, laplacian: bool, g_out, programs: int | None = None):
    """Gradients (rows, numerator, denominator) of :func:`jet_forward`. ``programs``: how many partial sums
    along the points (default: up to 4 per multiprocessor, at most one per block of points)."""
    _, backward = _kernels()
    rows, g_out = rows.contiguous(), g_out.contiguous()
    n, s, n_ch = rows.shape
    n_blocks = max(1, -(-n // BN))
    if programs is None:
        sms = torch.cuda.get_device_properties(rows.device).multi_processor_count if rows.is_cuda else 2
        programs = min(n_blocks, 4 * sms)
    nn_, nd = numerator.shape[1], denominator.shape[1]
    g_rows = torch.empty_like(rows)
    g_num = torch.zeros(programs, n_ch, nn_, dtype=rows.dtype, device=rows.device)
    g_den = torch.zeros(programs, n_ch, nd, dtype=rows.dtype, device=rows.device)
    bc = _block_c(n_ch)
    group32 = group_of.to(torch.int32).contiguous()
    backward[(programs, -(-n_ch // bc))](
        rows, numerator.contiguous(), denominator.contiguous(), group32, g_out, g_rows, g_num, g_den,
        n, n_ch, s, dim, n_blocks, NN=nn_, ND=nd, LAPLACIAN=laplacian, BN=BN, BC=bc,
        J_PAD=max(2, 1 << (max(nn_, nd) - 1).bit_length()),
    )
    per_group = torch.zeros_like(numerator).index_add_(0, group_of, g_num.sum(0))
    per_group_den = torch.zeros_like(denominator).index_add_(0, group_of, g_den.sum(0))
    return g_rows, per_group, per_group_den
