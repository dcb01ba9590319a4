"""Triton kernels for the fused KAN-layer jet of kan_jet.py (CUDA tensors; CPU tensors under TRITON_INTERPRET=1).

Same math as :class:`pinnkan.surrogates.kan_jet.KANLayerJet` for any layout of
partials, one program per block of ``BLOCK`` points; every tile lives in
registers:

- the k + 1 live B-spline bases and their derivatives at each point, from the
  cell ``floor((x - t0) / h)`` and the local coordinate u, by the truncated-power
  form of the uniform B-spline, B^(j)(t) = sum_m (-1)^m C(k+1, m)
  (t - m)_+^(k-j) / (k-j)!, t = u + k - q (so any order k is one formula);
- silu and its derivatives (closed form to the third, the sigmoid's polynomial
  table beyond);
- the layout's Faà di Bruno coefficients per (row, order) from the term arrays
  (``Layout.arrays``), W (BLOCK, S, J);
- phi_j (BLOCK, out): the k + 1 coefficients of each edge gathered from the table;
  the output rows sum W phi over the layer's inputs.

The backward recomputes all of that and needs no atomics: each program owns one
slice of a partial-sum buffer (programs, in, G + 3k, out) for the coefficient
gradient and one (programs, in, out) for the base weights, and walks its own
blocks of points; a block's contribution to the coefficients is the product of
a one-hot matrix (table row == cell + q) with the per-point contributions (one
``tl.dot``), added to the program's slice. The caller sums the slices. The
kernels are not differentiable twice (the autograd node refuses a double
backward). Triton is imported on first use, so ``TRITON_INTERPRET`` may be set
any time before.
"""

from __future__ import annotations

import functools
import math
import os

import torch

from pinnkan.layout import MAX_ORDER, Layout

BLOCK = 32


def available() -> bool:
    """Whether Triton is importable."""
    try:
        import triton  # noqa: F401
    except ImportError:
        return False
    return True


def interpreted() -> bool:
    """Whether the kernels run in Triton's interpreter (TRITON_INTERPRET=1: CPU tensors, for tests)."""
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def usable(t: torch.Tensor) -> bool:
    """Whether the Triton kernels run for tensors like ``t``: CUDA tensors, or CPU tensors in the interpreter."""
    return available() and (t.is_cuda or (interpreted() and t.device.type == "cpu"))


def _pow2(n: int, least: int = 2) -> int:
    return max(least, 1 << max(0, math.ceil(math.log2(max(n, 1)))))


def _kernels():
    """The jitted (or, under TRITON_INTERPRET=1, interpreted) kernels; imported on first use."""
    from pinnkan.surrogates import kan_triton_kernels as k

    return k.forward_kernel, k.backward_kernel


@functools.lru_cache(maxsize=64)
def _meta(layout: Layout, k: int, n_out: int, device: str):
    """Term arrays on the device and the kernels' compile-time sizes (cached: no copies per call)."""
    from pinnkan.univariate import poly_table

    arr = layout.arrays()
    pairs = layout.pairs()
    n_terms = len(layout.terms())

    def on_device(values, dtype):  # at least one entry: a kernel argument needs storage even when unread
        return torch.tensor(list(values) if n_terms else [0], dtype=dtype, device=device)

    sig = torch.tensor(poly_table("sigmoid", layout.order + 1), dtype=torch.float64, device=device)
    arrays = (
        on_device((pairs[p][0] for p in arr["pair"]), torch.int32),
        on_device((pairs[p][1] for p in arr["pair"]), torch.int32),
        on_device(arr["coef"].tolist(), torch.float64),
        on_device(arr["nfac"].tolist(), torch.int32),
        torch.tensor(arr["fac"], dtype=torch.int32, device=device),
        sig,
    )
    meta = dict(
        K=k,
        ORDER=layout.order,
        S_PAD=_pow2(layout.size),
        J_PAD=_pow2(layout.order + 2),
        Q_PAD=_pow2(k + 1),
        O_PAD=_pow2(n_out, 16),
        SIG_C=sig.shape[1],
        MAXF=MAX_ORDER,
        BLOCK=BLOCK,
    )
    return arrays, n_terms, meta


def jet_forward(rows, table, wb, t0, hs, grid: int, k: int, layout: Layout):
    """rows (N, S, in) -> (N, S, out) on the device of the inputs; see the module docstring."""
    forward, _ = _kernels()
    rows, table = rows.contiguous(), table.contiguous()
    n, s, n_in = rows.shape
    n_out = table.shape[-1]
    out = torch.empty(n, s, n_out, dtype=rows.dtype, device=rows.device)
    arrays, n_terms, meta = _meta(layout, k, n_out, str(rows.device))
    wbt = wb.T.contiguous()
    forward[(max(1, -(-n // BLOCK)),)](
        rows, table, wbt, t0.contiguous(), hs.contiguous(), out, *arrays,
        n, n_in, n_out, s, n_terms, grid, table.shape[1], **meta,
    )
    return out


def jet_backward(rows, table, wb, t0, hs, grid: int, k: int, layout: Layout, g_out, programs: int | None = None):
    """Gradients (rows, table, wb); g_out None counts as 0. ``programs``: how many partial sums (default: up to
    4 per multiprocessor, at most one per block of points)."""
    _, backward = _kernels()
    rows, table = rows.contiguous(), table.contiguous()
    n, s, n_in = rows.shape
    n_out, width = table.shape[-1], table.shape[1]
    g_out = torch.zeros(n, s, n_out, dtype=rows.dtype, device=rows.device) if g_out is None else g_out.contiguous()
    n_blocks = max(1, -(-n // BLOCK))
    if programs is None:
        sms = torch.cuda.get_device_properties(rows.device).multi_processor_count if rows.is_cuda else 2
        programs = min(n_blocks, 4 * sms)
    g_rows = torch.empty_like(rows)
    g_table = torch.zeros(programs, n_in, width, n_out, dtype=rows.dtype, device=rows.device)
    g_wbt = torch.zeros(programs, n_in, n_out, dtype=rows.dtype, device=rows.device)
    arrays, n_terms, meta = _meta(layout, k, n_out, str(rows.device))
    backward[(programs,)](
        rows, table, wb.T.contiguous(), t0.contiguous(), hs.contiguous(), g_out, g_rows, g_table, g_wbt, *arrays,
        n, n_in, n_out, s, n_terms, grid, width, n_blocks, W_PAD=_pow2(width, 16),
        USE_DOT=rows.dtype == torch.float32, **meta,
    )
    return g_rows, g_table.sum(0), g_wbt.sum(0).T
