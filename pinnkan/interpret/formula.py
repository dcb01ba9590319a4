"""A KAN whose edges are symbolic functions ``a + b f(c x + d)``: trainable, and a formula.

:class:`SymbolicKAN` is a surrogate like any other (forward jets included), so its
constants are refined by pinnkan's own training on the problem's PDE loss; ``to_sympy``
writes it as an expression in the problem's coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sympy
import torch
from torch import Tensor, nn

from pinnkan.interpret.library import function
from pinnkan.jet import Rows
from pinnkan.surrogates.base import Surrogate
from pinnkan.surrogates.kan import rows_through_edges


class SymbolicKAN(Surrogate):
    """widths [D, ..., F]; ``names[l][o][i]`` the function of edge i -> o of layer l (``"0"``: a constant).

    ``params[l]`` (out, in, 4) holds every edge's (a, b, c, d); the free ones are
    trainable (a, b always; c, d where the function needs them), the others fixed.
    """

    kind = "symbolic"

    def __init__(
        self,
        widths: Sequence[int],
        lo: Tensor,
        hi: Tensor,
        names: list[list[list[str]]],
        params: list[Tensor],
    ) -> None:
        super().__init__(lo, hi)
        self.widths = list(widths)
        self.names = [[list(row) for row in layer] for layer in names]
        self.values = nn.ParameterList()
        free = []
        for layer_names, p in zip(self.names, params):
            self.values.append(nn.Parameter(torch.as_tensor(p, dtype=torch.get_default_dtype()).clone()))
            f = torch.zeros(p.shape, dtype=torch.bool)
            for o, row in enumerate(layer_names):
                for i, name in enumerate(row):
                    fn = function(name)
                    f[o, i] = torch.tensor([True, name != "0", fn.scale and name != "0", fn.shift and name != "0"])
            free.append(f)
        for i, f in enumerate(free):
            self.register_buffer(f"free_{i}", f)
        # per layer, each function present and the (in, out) edges that use it: fixed, so built once
        self._uses = [
            [
                (name, torch.tensor([[row[i] == name for row in names] for i in range(len(names[0]))]))
                for name in sorted({n for row in names for n in row})
            ]
            for names in self.names
        ]

    def _layer(self, index: int) -> Tensor:
        """(out, in, 4) constants of layer ``index``; the fixed ones carry no gradient."""
        p = self.values[index]
        free = getattr(self, f"free_{index}")
        return torch.where(free, p, p.detach())

    def edges(self, index: int, h: Tensor, order: int) -> Tensor:
        """Every edge of layer ``index`` and its derivatives at h (N, in): (in, N, order + 1, out)."""
        p = self._layer(index)
        a, b, c, d = (p[..., j].T for j in range(4))  # (in, out)
        z = c[:, None, :] * h.T[:, :, None] + d[:, None, :]  # (in, N, out)
        orders: list[Tensor] = [torch.zeros_like(z) for _ in range(order + 1)]
        for name, sel in self._uses[index]:
            sel = sel.to(h.device)
            scale = b
            for j, v in enumerate(function(name).jet(z, order)):
                term = scale[:, None, :] * v + (a[:, None, :] if j == 0 else 0.0)
                orders[j] = orders[j] + torch.where(sel[:, None, :], term, torch.zeros_like(term))
                scale = scale * c
        return torch.stack(orders, dim=2)

    def body(self, z: Tensor) -> Tensor:
        for index in range(len(self.names)):
            z = self.edges(index, z, 0)[:, :, 0, :].sum(0)
        return z

    def body_jet(self, r: Rows) -> Rows:
        if not r.layout.keys:
            return r.like(self.body(r.value).unsqueeze(1))
        for index in range(len(self.names)):
            r = rows_through_edges(self.edges(index, r.value, r.order), r)
        return r

    def spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "width": self.widths, "names": self.names}

    def to_sympy(self, coords: Sequence[str]) -> list[sympy.Expr]:
        """The fields as expressions in ``coords``, every constant to 17 significant digits."""

        def num(v: float) -> sympy.Expr:
            return sympy.Float(v, 17)

        symbols = sympy.symbols(list(coords), real=True)
        scale, shift = self.in_scale.tolist(), self.in_shift.tolist()
        z = [num(s) * x + num(t) if (s, t) != (1.0, 0.0) else x for x, s, t in zip(symbols, scale, shift)]
        for index, names in enumerate(self.names):
            p = self.values[index].detach().cpu().tolist()
            nxt = []
            for o, row in enumerate(names):
                total = sympy.Integer(0)
                for i, name in enumerate(row):
                    a, b, c, d = p[o][i]
                    fn = function(name)
                    if name == "0":
                        total += num(a)
                        continue
                    arg = (num(c) if fn.scale else 1) * z[i] + (num(d) if fn.shift else 0)
                    total += num(a) + num(b) * fn.sympy_fn(arg)
                nxt.append(total)
            z = nxt
        return z
