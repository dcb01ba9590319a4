"""Known singular functions added to a surrogate's output, with trainable coefficients.

At a re-entrant corner of a polygon (interior angle omega > pi) the solution of an
elliptic problem is not smooth: with u = 0 on both edges it behaves like

    u ~ c_1 s_1 + c_2 s_2 + ...,    s_k = r^(a_k) sin(a_k theta),   a_k = k pi / omega

(r, theta polar coordinates about the corner, theta from the first edge; with
du/dn = 0 on both edges, cos in place of sin). For the L-shape a_1 = 2/3: the
gradient is unbounded at the corner, and a smooth surrogate spends its capacity
there and still misses. An *enriched* surrogate is

    u(x) = N(x) + sum_k c_k s_k(x)

with the c_k trained with the network (zero at the start). Every s_k is harmonic,
so it adds nothing to a Laplacian and N is left with the smooth remainder.

The partials of s_k of any order are closed-form. With w = (x - v) e^(-i psi)
(psi the bisector of the wedge, so arg w lies in (-pi, pi) inside it) and
s = Im(e^(i beta) w^a), beta = a omega / 2 (+ pi/2 for cos),

    d^(p)/dx^p d^(q)/dy^q s = (a)_n r^(a - n) sin(beta + (a - n) phi - n psi + q pi / 2),

n = p + q, (a)_n = a (a - 1) ... (a - n + 1) the falling factorial, phi = arg w.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from pinnkan.layout import LAP, Layout, key_order

KINDS = ("dirichlet", "neumann")


@dataclass(frozen=True)
class CornerSingularity:
    """The first ``terms`` singular functions of a wedge with its tip at ``vertex``.

    ``start``: the direction (radians) of the wedge's first edge; the wedge opens
    counter-clockwise from it by ``angle`` (radians, in (pi, 2 pi) for a re-entrant
    corner). ``kind``: ``"dirichlet"`` (u = 0 on both edges: sin) or ``"neumann"``
    (du/dn = 0 on both: cos). ``axes``: the two coordinates of the plane; the
    functions are constant in any other coordinate (time, say).
    """

    vertex: tuple[float, float]
    start: float
    angle: float
    kind: str = "dirichlet"
    terms: int = 2
    axes: tuple[int, int] = (0, 1)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"CornerSingularity: kind must be one of {', '.join(KINDS)}; got {self.kind!r}")
        if not 0.0 < self.angle < 2.0 * math.pi:
            raise ValueError(f"CornerSingularity: angle must lie in (0, 2 pi); got {self.angle}")
        if self.terms < 1:
            raise ValueError("CornerSingularity: terms must be at least 1")

    @property
    def exponents(self) -> tuple[float, ...]:
        """a_k = k pi / angle, k = 1..terms."""
        return tuple(k * math.pi / self.angle for k in range(1, self.terms + 1))

    def basis(self, x: Tensor, layout: Layout) -> Tensor:
        """(N, S, terms): the value (row 0) and the partials of ``layout`` of each function at x (N, D)."""
        a0, a1 = self.axes
        psi = self.start + 0.5 * self.angle
        c, s = math.cos(psi), math.sin(psi)
        dx, dy = x[:, a0] - self.vertex[0], x[:, a1] - self.vertex[1]
        p, q = dx * c + dy * s, dy * c - dx * s
        # at the tip itself a partial of order n < a is 0 and one of order n > a infinite: NaN there (the floor
        # keeps r^(a - n) finite in the tensor's dtype, and NaN out of the gradients of the finite rows)
        floor = torch.finfo(x.dtype).tiny ** (1.0 / 8.0)
        r = torch.sqrt(p * p + q * q).clamp_min(floor)
        tip = r <= floor
        phi = torch.atan2(q, p)
        zero = torch.zeros_like(r)
        out = []
        for a in self.exponents:
            beta = 0.5 * a * self.angle + (0.5 * math.pi if self.kind == "neumann" else 0.0)
            rows = [self._partial(r, phi, a, beta, psi, 0, 0, tip)]
            for key in layout.keys:
                if key == LAP or any(axis not in self.axes for axis in key):
                    rows.append(zero)  # harmonic in the plane, constant in every other coordinate
                else:
                    n_y = sum(1 for axis in key if axis == a1)
                    rows.append(self._partial(r, phi, a, beta, psi, key_order(key), n_y, tip))
            out.append(torch.stack(rows, dim=1))
        return torch.stack(out, dim=2)

    @staticmethod
    def _partial(r: Tensor, phi: Tensor, a: float, beta: float, psi: float, n: int, n_y: int, tip: Tensor) -> Tensor:
        falling = math.prod(a - i for i in range(n))
        out = falling * r ** (a - n) * torch.sin(beta + (a - n) * phi - n * psi + n_y * 0.5 * math.pi)
        if a > n:  # vanishes at the tip
            return torch.where(tip, 0.0, out)
        return torch.where(tip, math.nan, out) if a < n and falling != 0.0 else out  # integer a: a polynomial

    def spec(self) -> dict[str, Any]:
        d = asdict(self)
        d["vertex"], d["axes"] = list(self.vertex), list(self.axes)
        return {"type": "corner", **d}

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> CornerSingularity:
        d = {k: v for k, v in spec.items() if k != "type"}
        d["vertex"], d["axes"] = tuple(d["vertex"]), tuple(d["axes"])
        return cls(**d)


class Enrichment(nn.Module):
    """sum_j c_{f,j} s_j(x) added to each field f of a surrogate; ``coef`` (F, J) starts at zero.

    Carried by the surrogate as ``model.enrichment`` (trained, saved and loaded with it).
    """

    def __init__(self, functions: Sequence[Any], fields: int) -> None:
        super().__init__()
        if not functions:
            raise ValueError("an enrichment needs at least one function")
        self.functions = tuple(functions)
        self.coef = nn.Parameter(torch.zeros(fields, sum(f.terms for f in self.functions)))

    def basis(self, x: Tensor, layout: Layout) -> Tensor:
        """(N, S, J) rows of every function at x (N, D)."""
        return torch.cat([f.basis(x, layout) for f in self.functions], dim=2)

    def rows(self, x: Tensor, layout: Layout) -> Tensor:
        """(N, S, F): the enrichment's value and partials, to add to the surrogate's rows."""
        return self.basis(x, layout) @ self.coef.T

    def forward(self, x: Tensor) -> Tensor:
        """x (N, D) -> (N, F)."""
        return self.rows(x, Layout(x.shape[1]))[:, 0]

    def spec(self) -> dict[str, Any]:
        return {"fields": self.coef.shape[0], "functions": [f.spec() for f in self.functions]}


# every kind of singular function by its spec's "type": a class with basis(x, layout), terms, spec(), from_spec()
FUNCTIONS = {"corner": CornerSingularity}


def from_spec(spec: dict[str, Any]) -> Enrichment:
    """The :class:`Enrichment` (coefficients zero) that ``Enrichment.spec()`` describes."""
    return Enrichment([FUNCTIONS[f["type"]].from_spec(f) for f in spec["functions"]], spec["fields"])
