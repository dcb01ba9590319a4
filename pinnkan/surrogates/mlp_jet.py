"""Fused jet propagation through a tanh MLP: one autograd node, hand-derived backward.

Rows are stored feature-major, (n, R, N): for each of the n features, R rows
(value, D gradient rows, K second-order rows) over the N points, so every linear
layer is one matmul ``W @ H.view(n, R * N)`` on all rows at once. The K
second-order rows are fixed combinations of the Hessian diagonal,
``S_k = sum_d C[k, d] d2/dx_d2``: C = I gives the diagonal (K = D), C = ones(1, D)
the Laplacian alone (K = 1), which is all a Poisson-type residual needs and saves
D - 1 rows of every matmul.

tanh layer, t = tanh(z0), s = 1 - t^2 (so t' = s, t'' = -2 t s):

    h0 = t,   hg_d = s zg_d,   hs_k = s (zs_k - 2 t q_k),   q_k = sum_d C[k, d] zg_d^2

Backward from (A, G_d, L_k), the cotangents of (h0, hg_d, hs_k):

    dzs_k = s L_k
    dzg_d = s (G_d - 4 t zg_d sum_k C[k, d] L_k)
    dz0   = s (A - 2 t sum_d G_d zg_d - sum_k L_k (2 t zs_k + 2 q_k (s - 2 t^2)))

The first layer acts on the normalised input x, whose gradient rows are the unit
vectors and whose second-order rows vanish: its pre-activation rows are zg_d = a_d = W1[:, d] s_d
(the same at every point; s the input map's scale, x_hat = s x + shift) and zs = 0,
so they are never stored. The bias reaches the value row only. Elementwise passes run as compiled
kernels (mlp_cpu.py) on the CPU; the PyTorch versions here are their reference,
and MLP.body_jet through Rows (plain autograd) is the reference of the whole node.
"""

from __future__ import annotations

import torch
from torch import Tensor

# "auto": compiled CPU kernels (mlp_cpu.py) for CPU tensors when numba is there,
# PyTorch ops otherwise; "torch" forces the PyTorch ops (the reference).
BACKEND = "auto"


def second_order_weights(dim: int, laplacian: bool, like: Tensor) -> Tensor:
    """C (K, D): identity for the Hessian diagonal, one row of ones for the Laplacian."""
    if laplacian:
        return like.new_ones(1, dim)
    return torch.eye(dim, dtype=like.dtype, device=like.device)


def _mode(c: Tensor | None) -> int:
    return 0 if c is None else (2 if c.shape[0] == 1 else 1)


def _compiled(z: Tensor) -> bool:
    from pinnkan.surrogates import mlp_cpu

    return BACKEND == "auto" and z.device.type == "cpu" and mlp_cpu.AVAILABLE


def _tanh(z: Tensor, bias: Tensor) -> Tensor:
    """tanh(z + bias[:, None]) for z (n, N), a new contiguous tensor.

    On the CPU numpy's SIMD tanh is faster than torch.tanh (ad-hoc timing: 3.5x in float32, 1.6x in
    float64 on the 2-core CI machine) at the same accuracy.
    """
    if not _compiled(z):
        return torch.tanh(z + bias.unsqueeze(1))
    import numpy as np

    out = torch.empty(z.shape, dtype=z.dtype)
    o = out.numpy()
    np.add(z.detach().numpy(), bias.detach().numpy()[:, None], out=o)
    np.tanh(o, out=o)
    return out


def _q(zg: Tensor, c: Tensor) -> Tensor:
    """q_k = sum_d C[k, d] zg_d^2; zg (n, D, N) -> (n, K, N)."""
    return torch.einsum("kd,ndm->nkm", c, zg * zg)


def tanh_rows(z: Tensor, t: Tensor, dim: int, c: Tensor | None) -> Tensor:
    """Rows of tanh(z): z (n, R, N) -> (n, R, N), R = 1 + D + K; t = tanh(z0) (n, N) given."""
    h = torch.empty_like(z)
    if _compiled(z):
        from pinnkan.surrogates import mlp_cpu

        mlp_cpu.rows_forward(z.detach().numpy(), t.detach().numpy(), dim, _mode(c), h.numpy())
        return h
    s = 1 - t * t
    h[:, 0] = t
    zg = z[:, 1 : 1 + dim]
    h[:, 1 : 1 + dim] = zg * s.unsqueeze(1)
    if c is not None:
        h[:, 1 + dim :] = s.unsqueeze(1) * (z[:, 1 + dim :] - 2 * t.unsqueeze(1) * _q(zg, c))
    return h


def tanh_rows_backward(
    dnext: Tensor, w: Tensor | None, z: Tensor, t: Tensor, dim: int, c: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Cotangent of z (n, R, N) and its value-row sum (n,), the bias gradient.

    dnext (F, R, N) is the cotangent of the next layer's pre-activation W h + b, w (F, n) its
    weight, so the cotangent of h = tanh_rows(z) is w.T @ dnext (dnext itself for w None).
    """
    f, r, m = dnext.shape
    if _compiled(z):
        from pinnkan.surrogates import mlp_cpu

        n = z.shape[0]
        dz = torch.empty_like(z)
        db = z.new_empty(n)
        if w is None:
            dh, src, cs = dnext.contiguous(), torch.arange(n), z.new_ones(n)
        elif f == 1:
            # the outer product w.T @ dnext is formed inside the kernel
            dh, src, cs = dnext.contiguous(), torch.zeros(n, dtype=torch.int64), w[0].contiguous()
        else:
            dh, src, cs = (w.T @ dnext.reshape(f, r * m)).view(n, r, m), torch.arange(n), z.new_ones(n)
        mlp_cpu.rows_backward(
            dh.detach().numpy(),
            src.numpy(),
            cs.detach().numpy(),
            z.detach().numpy(),
            t.detach().numpy(),
            dim,
            _mode(c),
            dz.numpy(),
            db.numpy(),
        )
        return dz, db
    dh = dnext if w is None else (w.T @ dnext.reshape(f, r * m)).view(-1, r, m)
    s = 1 - t * t
    s1, t1 = s.unsqueeze(1), t.unsqueeze(1)
    a, g = dh[:, 0], dh[:, 1 : 1 + dim]
    zg = z[:, 1 : 1 + dim]
    dz = torch.empty_like(z)
    inner = a - 2 * t * (g * zg).sum(1)
    if c is None:
        dz[:, 1 : 1 + dim] = s1 * g
    else:
        lk, zs = dh[:, 1 + dim :], z[:, 1 + dim :]
        dz[:, 1 + dim :] = s1 * lk
        cl = torch.einsum("kd,nkm->ndm", c, lk)
        dz[:, 1 : 1 + dim] = s1 * (g - 4 * t1 * zg * cl)
        inner = inner - 2 * (lk * (t1 * zs + _q(zg, c) * (s1 - 2 * t1 * t1))).sum(1)
    dz[:, 0] = s * inner
    return dz, dz[:, 0].sum(1)


def _first_q(a: Tensor, c: Tensor | None) -> Tensor:
    """q (n, K) of the first layer, whose gradient rows a (n, D) are the same at every point."""
    return a.new_zeros(a.shape[0], 1) if c is None else (a * a) @ c.T


def first_rows(t: Tensor, a: Tensor, c: Tensor | None) -> Tensor:
    """Rows of tanh of the first layer: t = tanh(z0) (n, N), a = W1 * scale (n, D) -> (n, R, N)."""
    n, m = t.shape
    dim = a.shape[1]
    k = 0 if c is None else c.shape[0]
    h = t.new_empty(n, 1 + dim + k, m)
    q = _first_q(a, c)
    if _compiled(t):
        from pinnkan.surrogates import mlp_cpu

        mlp_cpu.first_forward(
            t.detach().numpy(), a.detach().contiguous().numpy(), q.detach().contiguous().numpy(), _mode(c), h.numpy()
        )
        return h
    s = 1 - t * t
    h[:, 0] = t
    h[:, 1 : 1 + dim] = s.unsqueeze(1) * a.unsqueeze(2)
    if c is not None:
        h[:, 1 + dim :] = -2 * (t * s).unsqueeze(1) * q.unsqueeze(2)
    return h


def first_backward(
    dh: Tensor, t: Tensor, a: Tensor, x: Tensor, scale: Tensor, c: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Gradients (W1 (n, D), b1 (n,)) from the cotangent dh (n, R, N) of first_rows.

    x (N, D) the normalised input, a = W1 * scale (n, D).
    """
    n, dim = a.shape
    if _compiled(t):
        from pinnkan.surrogates import mlp_cpu

        gw, gb = a.new_empty(n, dim), a.new_empty(n)
        q = _first_q(a, c)
        mlp_cpu.first_backward(
            dh.detach().contiguous().numpy(),
            t.detach().numpy(),
            a.detach().contiguous().numpy(),
            x.detach().contiguous().numpy(),
            scale.detach().contiguous().numpy(),
            q.detach().contiguous().numpy(),
            _mode(c),
            gw.numpy(),
            gb.numpy(),
        )
        return gw, gb
    k = 0 if c is None else c.shape[0]
    z = torch.cat([t.unsqueeze(1), a.unsqueeze(2).expand(n, dim, t.shape[1]), t.new_zeros(n, k, t.shape[1])], 1)
    dz, gb = tanh_rows_backward(dh, None, z, t, dim, c)
    return dz[:, 0] @ x + dz[:, 1 : 1 + dim].sum(2) * scale, gb


class MLPJet(torch.autograd.Function):
    """(x_hat (N, D), scale (D,), C (K, D) or None, W1, b1, ..., WL, bL) -> output rows (F, R, N).

    x_hat = scale * x + shift is the normalised input; rows are derivatives in x. R = 1 + D + K
    with K = 0 for C None (first order only). tanh follows every layer but the last;
    at least one hidden layer. Gradients flow to the weights and biases only.
    """

    @staticmethod
    def forward(ctx, x: Tensor, scale: Tensor, c: Tensor | None, *params: Tensor) -> Tensor:
        n, dim = x.shape
        r = 1 + dim + (0 if c is None else c.shape[0])
        weights, biases = params[0::2], params[1::2]
        t = _tanh(weights[0] @ x.T, biases[0])
        h = first_rows(t, weights[0] * scale, c)
        inputs, pre, tanhs = [h], [], [t]
        for w, b in zip(weights[1:-1], biases[1:-1]):
            z = (w @ h.view(h.shape[0], r * n)).view(w.shape[0], r, n)
            t = _tanh(z[:, 0], b)
            h = tanh_rows(z, t, dim, c)
            inputs.append(h)
            pre.append(z)
            tanhs.append(t)
        y = (weights[-1] @ h.view(h.shape[0], r * n)).view(-1, r, n)
        y[:, 0] += biases[-1].unsqueeze(1)
        ctx.save_for_backward(x, scale, *inputs, *pre, *tanhs, *weights, *([] if c is None else [c]))
        ctx.layers, ctx.has_c = len(weights), c is not None
        return y

    @staticmethod
    def backward(ctx, dy: Tensor):
        saved = ctx.saved_tensors
        layers = ctx.layers
        x, scale, rest = saved[0], saved[1], saved[2:]
        inputs = rest[: layers - 1]
        pre = rest[layers - 1 : 2 * layers - 3]
        tanhs = rest[2 * layers - 3 : 3 * layers - 4]
        weights = rest[3 * layers - 4 : 4 * layers - 4]
        c = rest[-1] if ctx.has_c else None
        dim = x.shape[1]
        f, r, n = dy.shape
        grads: list[Tensor | None] = [None] * (2 * layers)
        dz = dy.contiguous()
        grads[-2] = dz.view(f, r * n) @ inputs[-1].view(-1, r * n).T
        grads[-1] = dy[:, 0].sum(1)
        for i in range(layers - 2, 0, -1):
            dz, grads[2 * i + 1] = tanh_rows_backward(dz, weights[i + 1], pre[i - 1], tanhs[i], dim, c)
            grads[2 * i] = dz.view(dz.shape[0], r * n) @ inputs[i - 1].view(-1, r * n).T
        w = weights[1]
        dh = (w.T @ dz.view(dz.shape[0], r * n)).view(w.shape[1], r, n)
        grads[0], grads[1] = first_backward(dh, tanhs[0], weights[0] * scale, x, scale, c)
        return (None, None, None, *grads)
