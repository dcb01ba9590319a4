"""Chebyshev KAN (the cPIKAN family): every edge a Chebyshev series in tanh of its input.

Edge i -> o of a layer is ``phi(h) = sum_n c[o, i, n] T_n(tanh h)``, n = 0..degree.
tanh maps any input into (-1, 1), where the T_n are bounded by 1; the T_n are
built by the three-term recurrence ``T_{n+1} = 2 t T_n - T_{n-1}`` (never
``cos(n acos t)``, whose derivative is infinite at t = +-1), and so are their
derivatives, by differentiating the recurrence:

    T'_{n+1}   = 2 T_n + 2 t T'_n - T'_{n-1}
    T''_{n+1}  = 4 T'_n + 2 t T''_n - T''_{n-1}
    T'''_{n+1} = 6 T''_n + 2 t T'''_n - T'''_{n-1}

The layer is a KAN in the efficient formulation: the basis (N, in, degree + 1)
is contracted with the coefficients viewed as (in * (degree + 1), out), and the
jet rows of all orders go through that one matmul (see :mod:`chebyshev_jet`).
Optionally (``norm = "layer"``) every hidden layer's output is layer-normalised
before the next layer's tanh, as some cPIKAN variants do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.keys import Key, positive
from pinnkan.layout import Layout
from pinnkan.surrogates.base import Surrogate
from pinnkan.surrogates.chebyshev_basis import edge_basis
from pinnkan.surrogates.chebyshev_jet import ChebyshevLayerJet, layer_norm_rows, row_basis
from pinnkan.surrogates.kan_jet import chain_coefficients

NORMS = ("none", "layer")


class ChebyshevLayer(nn.Module):
    """(N, in) -> (N, out), ``coef`` (out, in, degree + 1).

    Initialised normal with std 1 / sqrt(in * (degree + 1)): the T_n of a tanh
    input have mean square about 1/2, so each output starts with variance ~1/2
    whatever the width and degree.
    """

    def __init__(self, n_in: int, n_out: int, degree: int = 5) -> None:
        super().__init__()
        self.n_in, self.n_out, self.degree = n_in, n_out, degree
        # fused: one autograd node for the jet (chebyshev_jet.py); False: the same math in PyTorch ops
        self.fused = True
        self.coef = nn.Parameter(torch.randn(n_out, n_in, degree + 1) / math.sqrt(n_in * (degree + 1)))

    def forward(self, h: Tensor) -> Tensor:
        (b,) = edge_basis(h, self.degree, 0)
        return b.reshape(h.shape[0], -1) @ self.coef.reshape(self.n_out, -1).T

    def rows(self, r: Rows) -> Rows:
        """Propagate stacked jet rows (N, S, in) -> (N, S, out).

        Row basis: B_0 for the value, B_1 dh_a for gradient rows, B_2 dh_a^2 + B_1 d2h_a
        for second-order rows (the squares summed over a for a Laplacian row), where
        B_j = d^j/dh^j T_n(tanh h); then one matmul with the coefficients.
        """
        if not r.layout.keys:
            return r.like(self.forward(r.value).unsqueeze(1))
        std = r.standard
        if self.fused and std is not None:
            return r.like(ChebyshevLayerJet.apply(r.rows, self.coef, r.dim, r.order, r.laplacian))
        if std is not None:
            h, dh, d2h = r.parts()
            basis, _ = row_basis(edge_basis(h, self.degree, r.order), dh, d2h, r.laplacian)  # (N, S, in, M)
        else:  # any layout: row s's basis is sum over its pairs (s, j) of Q B_j
            b = edge_basis(r.value, self.degree, r.order)
            rows: list[Tensor | None] = [None] * r.layout.size
            for (s, j), q in zip(r.layout.pairs(), chain_coefficients(r.rows, r.layout)):
                term = q.unsqueeze(-1) * b[j]
                rows[s] = term if rows[s] is None else rows[s] + term
            basis = torch.stack(rows, dim=1)
        n, s = basis.shape[:2]
        out = basis.reshape(n * s, -1) @ self.coef.reshape(self.n_out, -1).T
        return r.like(out.view(n, s, self.n_out))


class LayerNorm(nn.Module):
    """Layer normalisation over the features, (N, n) -> (N, n), with gain and bias (n,)."""

    def __init__(self, n: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))

    def forward(self, h: Tensor) -> Tensor:
        c = h - h.mean(-1, keepdim=True)
        return c * torch.rsqrt(c.square().mean(-1, keepdim=True) + self.eps) * self.gain + self.bias

    def rows(self, r: Rows) -> Rows:
        return r.like(layer_norm_rows(r, self.eps) * self.gain).shift(self.bias)


class ChebyshevKAN(Surrogate):
    """widths [D, h1, ..., F] of Chebyshev KAN layers of ``degree``, optionally layer-normalised."""

    fused_standard = True
    kind = "chebyshev"
    default_hidden = (16, 16)
    default_lr = 1e-2
    config_keys = {
        "degree": Key("int", None, check=positive, help="Chebyshev degree of every edge (chebyshev; default 5)"),
        "norm": Key("str", None, NORMS, help="layer normalisation between Chebyshev layers (chebyshev; default none)"),
    }

    def __init__(self, widths: Sequence[int], lo: Tensor, hi: Tensor, degree: int = 5, norm: str = "none") -> None:
        super().__init__(lo, hi)
        if norm not in NORMS:
            raise ValueError(f"unknown norm {norm!r}; known: {', '.join(NORMS)}")
        if degree < 1:
            raise ValueError(f"Chebyshev degree must be at least 1 (degree 0 is a constant), got {degree}")
        self.widths, self.degree, self.norm = list(widths), degree, norm
        self.layers = nn.ModuleList(ChebyshevLayer(a, b, degree) for a, b in zip(widths[:-1], widths[1:]))
        hidden = widths[1:-1] if norm == "layer" else []
        self.norms = nn.ModuleList(LayerNorm(n) for n in hidden)

    def body(self, z: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            z = layer(z)
            if i < len(self.norms):
                z = self.norms[i](z)
        return z

    def body_jet(self, r: Rows) -> Rows:
        for i, layer in enumerate(self.layers):
            r = layer.rows(r)
            if i < len(self.norms):
                r = self.norms[i].rows(r)
        return r

    def check_layout(self, layout: Layout) -> None:
        if self.norms and layout.standard_form() is None:
            raise ValueError(
                "the Chebyshev KAN with norm = layer carries the value, gradient and Hessian diagonal or Laplacian "
                "only (no mixed or higher partials): use --set model.norm=none"
            )

    # degrees added by one grow(): T_{n+1}, T_{n+2} with zero coefficients leave every edge as it was
    growth_step = 2

    def grow(self, x: Tensor) -> str | None:
        old = self.degree
        with torch.no_grad():
            for layer in self.layers:
                pad = layer.coef.new_zeros(*layer.coef.shape[:2], self.growth_step)
                layer.coef = nn.Parameter(torch.cat([layer.coef.detach(), pad], dim=2))
                layer.degree = old + self.growth_step
        self.degree = old + self.growth_step
        return f"degree {old} -> {self.degree}"

    def grown_params(self) -> int | None:
        per_degree = sum(a * b for a, b in zip(self.widths[:-1], self.widths[1:]))
        return self.n_params + self.growth_step * per_degree

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths, "degree": self.degree, "norm": self.norm}
