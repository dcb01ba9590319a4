"""The jet of a group-rational activation as one autograd node, on the device's kernels.

rows (N, S, C) of a standard layout (value, gradient, Hessian diagonal or
Laplacian) -> the activation's rows (N, S, C); see rational_cpu.py for the math.
The node runs the numba kernels (rational_cpu.py) for CPU tensors and the Triton
kernels (rational_triton.py) for CUDA tensors; first-order backward only (a
double backward raises). :meth:`GroupRational.rows` with ``fused = False`` runs
the same math in PyTorch ops: the reference, and the path where neither kernel
set is at hand.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

# "auto": Triton for CUDA tensors when Triton is installed, numba for CPU tensors when numba is there,
# PyTorch ops otherwise; "torch" forces the PyTorch ops; "triton" the Triton kernels (on CPU tensors
# under TRITON_INTERPRET=1, for tests)
BACKENDS = ("auto", "torch", "triton")
BACKEND = "auto"


def backend_for(rows: Tensor) -> str:
    """Which implementation runs the node for these rows: "triton", "numba" or "torch"."""
    from pinnkan.surrogates import rational_cpu, rational_triton

    if BACKEND == "torch":
        return "torch"
    if BACKEND == "triton" or (rows.is_cuda and rational_triton.usable(rows)):
        return "triton"
    if rational_cpu.usable(rows):
        return "numba"
    return "torch"


class RationalJet(torch.autograd.Function):
    """rows (N, S, C), numerator (G, 6), denominator (G, 4), group_of (C,) -> rows (N, S, C)."""

    @staticmethod
    def forward(ctx, rows, numerator, denominator, group_of, dim: int, laplacian: bool):
        from pinnkan.surrogates import rational_cpu, rational_triton

        ctx.backend = backend_for(rows)
        ctx.save_for_backward(rows, numerator, denominator, group_of)
        ctx.shape = (dim, laplacian)
        if ctx.backend == "triton":
            return rational_triton.jet_forward(rows, numerator, denominator, group_of, dim, laplacian)
        return rational_cpu.jet_forward(rows, numerator, denominator, group_of, dim, laplacian)

    @staticmethod
    @once_differentiable
    def backward(ctx, g_out):
        from pinnkan.surrogates import rational_cpu, rational_triton

        rows, numerator, denominator, group_of = ctx.saved_tensors
        args = (rows, numerator, denominator, group_of, *ctx.shape, g_out)
        grads = rational_triton.jet_backward(*args) if ctx.backend == "triton" else rational_cpu.jet_backward(*args)
        return *grads, None, None, None
