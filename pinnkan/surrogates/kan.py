"""B-spline Kolmogorov–Arnold network in the efficient formulation.

Each edge is ``phi(x) = w_b silu(x) + s * sum_m c_m B_m(x)``. The basis is
evaluated once per input, shape (N, in, G + k), and contracted with the
coefficients viewed as (out, in * (G + k)) — never expanded to (N, out, in).
On a uniform grid only the k + 1 non-zero bases are computed (closed form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pinnkan.bspline import basis, local_basis_fn, uniform_knots
from pinnkan.jet import Rows
from pinnkan.keys import Key, positive
from pinnkan.layout import Layout
from pinnkan.surrogates import kan_jet
from pinnkan.surrogates.base import Surrogate
from pinnkan.surrogates.kan_jet import KANLayerJet, chain_coefficients, silu_derivatives

BASES = ("auto", "recursive")
VALUE_ONLY = Layout(1)  # no partials: the layer's value alone


def _is_uniform(knots: Tensor) -> bool:
    """Uniform up to float32 rounding: a new layer's knots are built in the default dtype (often
    float32) and cast, and a reloaded layer must take the same (closed-form) path as the one saved."""
    d = knots.diff(dim=1)
    return bool(torch.allclose(d, d[:, :1].expand_as(d), rtol=1e-6, atol=0.0))


def rows_through_edges(phi: Tensor, r: Rows) -> Rows:
    """Jet rows (N, S, in) through a layer of univariate edges summed per output -> (N, S, out).

    ``phi`` (in, N, J + 1, out) holds every edge's value and derivatives up to the layout's
    order J at the rows' values h; output row s gets sum_i sum_{(s, j)} Q_sj[i] phi_j[i]
    with Q the Faà di Bruno coefficients of the input rows (:func:`chain_coefficients`):
    sum_i phi'_io dh_i for a gradient row, sum_i phi''_io dh_i^2 + phi'_io d2h_i for a diagonal one.
    """
    q = chain_coefficients(r.rows, r.layout)
    out: list[Tensor | None] = [None] * r.layout.size
    for (s, j), coef in zip(r.layout.pairs(), q):
        term = (coef.T.unsqueeze(-1) * phi[:, :, j]).sum(0)  # (N, out)
        out[s] = term if out[s] is None else out[s] + term
    return r.like(torch.stack(out, dim=1))


class KANLayer(nn.Module):
    """One KAN layer, (N, in) -> (N, out).

    Parameters: ``base_weight`` (out, in), ``spline_weight`` (out, in, G + k),
    ``spline_scaler`` (out, in) (the standalone spline scale). Buffers ``knots``
    (in, G + 2k + 1) and ``mask`` (out, in): 1 for a live edge, 0 for a pruned one
    (its weights get no gradient and contribute nothing). ``basis="auto"`` evaluates only the k + 1 non-zero bases in
    closed form on a uniform grid and gathers their coefficients; ``"recursive"``
    always runs Cox–de Boor over all G + k bases and contracts with one matmul
    (the efficient-kan formulation, kept as the reference).
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        grid: int = 5,
        k: int = 3,
        grid_range: tuple[float, float] = (-1.0, 1.0),
        noise: float = 0.1,
        basis: str = "auto",
    ) -> None:
        super().__init__()
        if basis not in BASES:
            raise ValueError(f"unknown KAN basis {basis!r}; known: {', '.join(BASES)}")
        self.n_in, self.n_out, self.grid, self.k = n_in, n_out, grid, k
        self.basis_kind = basis
        # fused: one autograd node per layer for the jet (kan_jet.py); False runs the
        # same math as plain PyTorch ops, the reference the fused node is tested against
        self.fused = True
        lo = torch.full((n_in,), float(grid_range[0]))
        hi = torch.full((n_in,), float(grid_range[1]))
        self.register_buffer("knots", uniform_knots(grid, k, lo, hi))
        self.base_weight = nn.Parameter(torch.empty(n_out, n_in))
        self.spline_weight = nn.Parameter(torch.empty(n_out, n_in, grid + k))
        self.spline_scaler = nn.Parameter(torch.empty(n_out, n_in))
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5))
        nn.init.kaiming_uniform_(self.spline_scaler, a=math.sqrt(5))
        nn.init.uniform_(self.spline_weight, -noise / grid, noise / grid)
        self.register_buffer("mask", torch.ones(n_out, n_in))
        self._uniform = True

    @property
    def uniform(self) -> bool:
        return self._uniform

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        # models saved before pruning existed have no mask: every edge is live
        state_dict.setdefault(prefix + "mask", torch.ones_like(self.mask))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        self._uniform = _is_uniform(self.knots)

    def weight(self) -> Tensor:
        """(out, in, G + k) coefficients with the spline scale and the edge mask folded in."""
        return self.spline_weight * (self.spline_scaler * self.mask).unsqueeze(-1)

    def base(self) -> Tensor:
        """(out, in) silu weights of the live edges."""
        return self.base_weight * self.mask

    def _local(self) -> bool:
        return self._uniform and self.basis_kind == "auto"

    def _padded_weight(self) -> Tensor:
        """(in, G + 3k, out): coefficients with k zero rows on each side.

        Local basis column q at cell c is basis c - k + q, i.e. row c + q here, so
        bases that do not exist near the grid's ends meet zeros.
        """
        return F.pad(self.weight().permute(1, 2, 0), (0, 0, self.k, self.k))

    def _spread(self, cell: Tensor, vals: Tensor) -> Tensor:
        """Place local values (..., k + 1) at their rows of a zero (..., G + 3k) basis."""
        idx = cell.reshape(cell.shape + (1,) * (vals.dim() - cell.dim())) + torch.arange(self.k + 1, device=cell.device)
        dense = vals.new_zeros(vals.shape[:-1] + (self.grid + 3 * self.k,))
        return dense.scatter_add(-1, idx.expand_as(vals), vals)

    def _local_basis(self, h: Tensor, order: int) -> tuple[Tensor, list[Tensor]]:
        """local_basis_fn on this layer's uniform grid; h (N, in)."""
        return local_basis_fn(h, self.knots[:, 0], self.knots[:, 1] - self.knots[:, 0], self.grid, self.k, order)

    def value(self, x: Tensor) -> Tensor:
        """:meth:`forward` through the jet node's compiled kernels (numba, Triton) where they run: the same
        kernels on a layout with no partials. Only for inputs no one differentiates twice (the node is
        once-differentiable): :meth:`KAN.body` uses it where the coordinates need no gradient."""
        if self.fused and self._local() and kan_jet.backend_for(x) != "torch":
            t0, hstep = self.knots[:, 0], self.knots[:, 1] - self.knots[:, 0]
            rows = KANLayerJet.apply(
                x.unsqueeze(1), self._padded_weight(), self.base(), t0, hstep, self.grid, self.k, VALUE_ONLY
            )
            return rows[:, 0]
        return self(x)

    def forward(self, x: Tensor) -> Tensor:
        """x (N, in) -> (N, out): silu(x) W_b^T + basis(x) viewed (N, in*M) @ W viewed (in*M, out)."""
        out = F.silu(x) @ self.base().T
        n = x.shape[0]
        if not self._local():
            (b,) = basis(x, self.knots, self.k)
            return out + b.reshape(n, -1) @ self.weight().reshape(self.n_out, -1).T
        cell, (b,) = self._local_basis(x, 0)
        dense = self._spread(cell, b)  # (N, in, G + 3k)
        return out + dense.reshape(n, -1) @ self._padded_weight().reshape(-1, self.n_out)

    def edges(self, h: Tensor, order: int) -> Tensor:
        """Every edge function and its derivatives at the inputs h (N, in): (in, N, order + 1, out)."""
        base = torch.stack(silu_derivatives(h.T, order), dim=2)  # (in, N, J)
        base = base.unsqueeze(-1) * self.base().T[:, None, None, :]
        if self._local():
            cell, b = self._local_basis(h, order)
            vals = torch.stack(b, dim=1).permute(2, 0, 1, 3)  # (in, N, J, k+1)
            dense = self._spread(cell.T, vals)  # (in, N, J, G+3k)
            w = self._padded_weight()
        else:
            dense = torch.stack(basis(h, self.knots, self.k, order), dim=1).permute(2, 0, 1, 3)  # (in, N, J, M)
            w = self.weight().permute(1, 2, 0)
        n_in, n, j, m = dense.shape
        spline = torch.bmm(dense.reshape(n_in, n * j, m), w).view(n_in, n, j, self.n_out)
        return base + spline

    def rows(self, r: Rows) -> Rows:
        """Propagate stacked jet rows (N, S, in) -> (N, S, out), any layout (see :func:`rows_through_edges`)."""
        if not r.layout.keys:
            return r.like(self.forward(r.value).unsqueeze(1))
        if self.fused and self._local():
            t0, hstep = self.knots[:, 0], self.knots[:, 1] - self.knots[:, 0]
            out = KANLayerJet.apply(r.rows, self._padded_weight(), self.base(), t0, hstep, self.grid, self.k, r.layout)
            return r.like(out)
        return rows_through_edges(self.edges(r.value, r.order), r)

    def spline_part(self, x: Tensor) -> Tensor:
        """(N, in, out): the spline term of every edge at x (N, in)."""
        (b,) = basis(x, self.knots, self.k)
        return torch.einsum("nim,oim->nio", b, self.weight())

    @torch.no_grad()
    def _refit(self, knots: Tensor, grid: int, x_fit: Tensor) -> None:
        """Least-squares fit of the spline on ``knots`` to the current edges at x_fit (N, in)."""
        target = self.spline_part(x_fit).double()  # (N, in, out)
        a = basis(x_fit.double(), knots.double(), self.k)[0].permute(1, 0, 2)  # (in, N, M)
        ata = a.transpose(1, 2) @ a
        ridge = 1e-12 * ata.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-30)
        ata = ata + ridge[:, None, None] * torch.eye(ata.shape[-1], dtype=ata.dtype)
        coef = torch.linalg.solve(ata, a.transpose(1, 2) @ target.permute(1, 0, 2))  # (in, M, out)
        dtype = self.spline_weight.dtype
        self.grid = grid
        self.knots = knots.to(dtype)
        self._uniform = _is_uniform(self.knots)
        self.spline_weight = nn.Parameter(coef.permute(2, 0, 1).to(dtype).contiguous())
        self.spline_scaler = nn.Parameter(torch.ones_like(self.spline_scaler))

    def _fill(self, lo: Tensor, hi: Tensor, n: int) -> Tensor:
        s = torch.linspace(0, 1, n, dtype=lo.dtype, device=lo.device)[:, None]
        return lo + s * (hi - lo)

    @torch.no_grad()
    def update_grid(self, x: Tensor, eps: float = 0.02, margin: float = 0.01) -> None:
        """Move the knots to where the inputs x (N, in) are, and refit.

        Interior knots blend the samples' quantiles (weight 1 - eps) with a uniform
        grid over their range (weight eps); eps = 1 keeps the grid uniform.
        """
        g, k = self.grid, self.k
        lo, hi = x.min(0).values, x.max(0).values
        pad = margin * (hi - lo).clamp_min(1e-6)
        lo, hi = lo - pad, hi + pad
        uniform = uniform_knots(g, k, lo, hi)
        if eps < 1.0:
            q = torch.linspace(0, 1, g + 1, dtype=x.dtype, device=x.device)
            adaptive = torch.quantile(x, q, dim=0).T  # (in, g + 1)
            adaptive[:, 0], adaptive[:, -1] = lo, hi
            inner = eps * uniform[:, k : g + k + 1] + (1 - eps) * adaptive
            h = (hi - lo) / g
            steps = torch.arange(1, k + 1, dtype=x.dtype, device=x.device)
            knots = torch.cat(
                [lo[:, None] - steps.flip(0) * h[:, None], inner, hi[:, None] + steps * h[:, None]], dim=1
            )
        else:
            knots = uniform
        self._refit(knots, g, torch.cat([x, self._fill(lo, hi, 4 * (g + k))]))

    @torch.no_grad()
    def extend_grid(self, grid: int, x: Tensor | None = None) -> None:
        """Refit a uniform grid of ``grid`` intervals on the current range.

        The fit samples the range uniformly, plus the inputs x (N, in) when given.
        """
        lo, hi = self.knots[:, self.k], self.knots[:, self.grid + self.k]
        fit = self._fill(lo, hi, 8 * (grid + self.k))
        if x is not None:
            fit = torch.cat([fit, x])
        self._refit(uniform_knots(grid, self.k, lo, hi), grid, fit)


class KAN(Surrogate):
    """widths [D, h1, ..., F] of KAN layers on grid ``grid`` with order-k splines."""

    kind = "kan"
    default_hidden = (10,)
    default_lr = 1e-2
    default_grids = (5, 10, 20)
    config_keys = {
        "grid": Key("int", None, check=positive, help="KAN grid intervals G (default: first of train.grids)"),
        "k": Key("int", None, check=positive, help="KAN spline order (default 3, or the problem's kan_k)"),
        "basis": Key("str", None, BASES, help="KAN basis: closed-form local (auto, the default) or Cox-de Boor"),
    }
    # bench's reference: the efficient-kan formulation (Cox-de Boor over all G + k bases)
    reference_options = {"basis": "recursive"}

    def __init__(
        self,
        widths: Sequence[int],
        lo: Tensor,
        hi: Tensor,
        grid: int = 5,
        k: int = 3,
        basis: str = "auto",
    ) -> None:
        super().__init__(lo, hi)
        self.widths = list(widths)
        self.k = k
        self.basis = basis
        self.layers = nn.ModuleList(
            KANLayer(a, b, grid=grid, k=k, basis=basis) for a, b in zip(widths[:-1], widths[1:])
        )

    @property
    def grid(self) -> int:
        return self.layers[0].grid

    def body(self, z: Tensor) -> Tensor:
        # coordinates that need no gradient (boundary and test points, the forward engine's values): the
        # compiled layer kernels; nested autograd (coordinates that do) keeps plain, twice-differentiable ops
        compiled = not z.requires_grad
        for layer in self.layers:
            z = layer.value(z) if compiled else layer(z)
        return z

    def body_jet(self, r: Rows) -> Rows:
        for layer in self.layers:
            r = layer.rows(r)
        return r

    def check_layout(self, layout: Layout) -> None:
        # a degree-k spline has jumps in its k-th derivative and Dirac spikes (which no residual at
        # collocation points sees) in its (k+1)-th: a residual of order m needs k >= m
        if layout.order > self.k:
            raise ValueError(
                f"the residual needs derivatives of order {layout.order}, but a KAN of spline order k = {self.k} "
                f"has zero derivatives of order {self.k + 1} between its knots and spikes at them; "
                f"use --set model.k={layout.order + 1}"
            )

    def layer_inputs(self, x: Tensor) -> list[Tensor]:
        """Inputs (N, in) seen by each layer at points x (N, D)."""
        z = x * self.in_scale + self.in_shift
        seen = []
        for layer in self.layers:
            seen.append(z)
            z = layer(z)
        return seen

    @torch.no_grad()
    def update_grid(self, x: Tensor, eps: float = 0.02) -> None:
        """Grid update of every layer from collocation points x (N, D)."""
        for layer, z in zip(self.layers, self.layer_inputs(x)):
            layer.update_grid(z, eps=eps)

    @torch.no_grad()
    def extend_grid(self, grid: int, x: Tensor | None = None) -> None:
        """Grid extension of every layer to ``grid`` intervals.

        With collocation points x, hidden layers first move their (uniform) grid to
        the range their inputs actually cover, so the finer grid is spent there.
        """
        if x is None:
            for layer in self.layers:
                layer.extend_grid(grid)
            return
        for i, (layer, z) in enumerate(zip(self.layers, self.layer_inputs(x))):
            if i > 0:
                layer.update_grid(z, eps=1.0, margin=0.05)
            layer.extend_grid(grid, z)

    @torch.no_grad()
    def edge_sum(self, x: Tensor) -> float | None:
        total = 0.0
        for layer, z in zip(self.layers, self.layer_inputs(x)):
            values = layer.edges(z, 0)[:, :, 0, :].permute(1, 0, 2)  # (N, in, out)
            total += float((values.abs().mean(0).T * layer.mask).sum())
        return total

    def grow(self, x: Tensor) -> str | None:
        """Grid extension to twice the intervals (the coarse spline refitted by least squares)."""
        old = self.grid
        self.extend_grid(2 * old, x)
        return f"grid {old} -> {self.grid}"

    def grown_params(self) -> int | None:
        per_interval = sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:]))
        return self.n_params + self.grid * per_interval

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths, "grid": self.grid, "k": self.k, "basis": self.basis}
