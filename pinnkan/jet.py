"""The jet of a field at a batch of points, and the engines that compute it.

A :class:`Jet` holds, per point and output field, the value and the partial
derivatives of a :class:`~pinnkan.layout.Layout`: whatever the residual asks
for — first derivatives, the Hessian diagonal or the Laplacian alone, mixed
partials, third and fourth orders — and nothing else. A residual reads them as
``jet.val``, ``jet.d("x")``, ``jet.d("x", "y")``, ``jet.d("x", "x", "x")``,
``jet.dd("x")``, ``jet.lap()``, and ``jet["v"]`` for one field of several.
Two engines build it:

- :func:`autograd_jet` — nested reverse mode (``torch.autograd.grad`` with
  ``create_graph=True``), one level per derivative order; works for any
  callable, the reference.
- :func:`forward_jet` — pushes the rows through the surrogate layer by layer
  with closed-form derivatives of every layer (``Surrogate.forward_jet``);
  parameter gradients then need first-order backward only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from pinnkan.layout import LAP, Key, Layout, as_layout, key_name, parse_key

ENGINES = ("auto", "autograd", "forward")


class JetError(ValueError):
    """A residual asked a jet for something it does not hold (unknown name, a partial not computed)."""


class Jet:
    """rows (N, S, F): row 0 the value, then one row per key of ``layout``; F fields named ``fields``.

    With a single field, ``val``, ``d``, ``dd`` and ``lap`` return (N,) tensors; with
    several, select one first with ``jet["name"]``. ``value`` (N, F), ``grad``
    (N, D, F), ``diag`` (N, D, F) and ``laplacian`` (N, F) give every field at once
    (None where the layout does not hold them).
    """

    def __init__(self, rows: Tensor, layout: Layout, coords: tuple[str, ...], fields: tuple[str, ...]) -> None:
        self.rows, self.layout, self.coords, self.fields = rows, layout, tuple(coords), tuple(fields)

    def __getitem__(self, field: str) -> Jet:
        if field not in self.fields:
            raise JetError(f"jet has no field {field!r}; fields: {', '.join(self.fields)}")
        j = self.fields.index(field)
        return Jet(self.rows[..., j : j + 1], self.layout, self.coords, (field,))

    # --- every field at once --------------------------------------------------
    @property
    def value(self) -> Tensor:
        """(N, F)."""
        return self.rows[:, 0]

    def partial(self, key: Key) -> Tensor:
        """(N, F) rows of one key of the layout."""
        if key not in self.layout:
            raise JetError(self._missing(key))
        return self.rows[:, self.layout.row(key)]

    @property
    def grad(self) -> Tensor | None:
        """(N, D, F) first derivatives, or None when the layout lacks one."""
        if not self.layout.has_gradient():
            return None
        start = self.layout.row((0,))
        return self.rows[:, start : start + self.layout.dim]

    @property
    def diag(self) -> Tensor | None:
        """(N, D, F) the Hessian diagonal, or None when the layout lacks an entry."""
        keys = [(a, a) for a in range(self.layout.dim)]
        if not all(k in self.layout for k in keys):
            return None
        return torch.stack([self.rows[:, self.layout.row(k)] for k in keys], dim=1)

    @property
    def laplacian(self) -> Tensor | None:
        """(N, F) the Laplacian (its own row, or the diagonal summed), or None."""
        if LAP in self.layout:
            return self.rows[:, self.layout.row(LAP)]
        diag = self.diag
        return None if diag is None else diag.sum(1)

    # --- one field ------------------------------------------------------------
    def _single(self, t: Tensor) -> Tensor:
        if len(self.fields) != 1:
            raise JetError(f"jet has fields {self.fields}: select one with jet[name]")
        return t[..., 0]

    @property
    def val(self) -> Tensor:
        """(N,) value of the single field."""
        return self._single(self.value)

    def _key(self, coords: Sequence[str]) -> Key:
        for c in coords:
            if c not in self.coords:
                raise JetError(f"jet has no coordinate {c!r}; coords: {', '.join(self.coords)}")
        try:
            return parse_key(tuple(coords), self.coords)
        except ValueError as exc:
            raise JetError(str(exc)) from None

    def _missing(self, key: Key) -> str:
        name = f"u_{key_name(key, self.coords)}"
        held = self.layout.describe(self.coords)
        hint = ""
        if key != LAP and len(key) == 2 and key[0] == key[1] and LAP in self.layout:
            hint = " (the jet carries the Laplacian for jet.lap(); a residual that reads dd() gets the diagonal)"
        return f"this jet holds {held}, not {name}{hint}"

    def d(self, *coords: str) -> Tensor:
        """(N,) the partial derivative along ``coords``: ``d("x")``, ``d("x", "y")``, ``d("x", "x", "x")``."""
        if not coords:
            return self.val
        return self._single(self.partial(self._key(coords)))

    def dd(self, coord: str) -> Tensor:
        """(N,) second derivative along ``coord``."""
        return self.d(coord, coord)

    def lap(self, coords: Sequence[str] | None = None) -> Tensor:
        """(N,) sum of second derivatives over ``coords`` (default: all)."""
        if coords is None or set(coords) == set(self.coords):
            if LAP in self.layout:
                return self._single(self.partial(LAP))
            coords = self.coords
        return sum(self.dd(c) for c in coords)


@dataclass
class Rows:
    """A jet in the layer-stacked layout surrogates propagate.

    rows: (N, S, n): row 0 the value, then one row per key of ``layout``, for the
    n features of a layer. Stacking lets a linear map act on all rows in one matmul.
    """

    rows: Tensor
    layout: Layout

    @property
    def dim(self) -> int:
        return self.layout.dim

    @property
    def order(self) -> int:
        return self.layout.order

    @property
    def laplacian(self) -> bool:
        return self.layout.laplacian

    @property
    def standard(self) -> tuple[int, bool] | None:
        """(order, laplacian) for a standard layout (value, gradient, Hessian diagonal or Laplacian), else None."""
        return self.layout.standard_form()

    @property
    def n_second(self) -> int:
        """K, the number of second-order rows of a standard layout (0 below order 2)."""
        return self.layout.size - 1 - self.dim if self.order >= 2 else 0

    @classmethod
    def of_input(cls, x: Tensor, layout: Layout, scale: Tensor, shift: Tensor) -> Rows:
        """Rows of the affine input map z = scale * x + shift; x (N, D): first derivatives scale_a e_a, higher 0."""
        n, d = x.shape
        value = (x * scale + shift).unsqueeze(1)
        if not layout.keys:
            return cls(value, layout)
        # the derivative rows are the same at every point; built without in-place writes (torch.func batches this)
        unit, zero = torch.diag(scale), scale.new_zeros(d)
        const = torch.stack([unit[k[0]] if k != LAP and len(k) == 1 else zero for k in layout.keys])
        return cls(torch.cat([value, const.to(value.dtype).expand(n, -1, -1)], dim=1), layout)

    def pointwise(self, f: Sequence[Tensor]) -> Rows:
        """Rows of phi(h) from f = [phi, phi', ..., phi^(order)] at the value row h, each (N, n).

        The Faà di Bruno terms of the layout (:meth:`Layout.terms`); the common layouts
        (gradient, Hessian diagonal or Laplacian) take batched shortcuts of the same formulas.
        """
        std = self.standard
        if std is not None:
            return self._pointwise_standard(f, *std)
        rows = self.rows.unbind(1)
        acc: list[Tensor | None] = [f[0]] + [None] * (self.layout.size - 1)
        for t in self.layout.terms():
            term = f[t.j] if t.coef == 1.0 else t.coef * f[t.j]
            for q in t.factors:
                term = term * rows[q]
            acc[t.row] = term if acc[t.row] is None else acc[t.row] + term
        return Rows(torch.stack(acc, dim=1), self.layout)

    def _pointwise_standard(self, f: Sequence[Tensor], order: int, laplacian: bool) -> Rows:
        d = self.dim
        parts = [f[0].unsqueeze(1)]
        # split, not slicing: slice backward fills a full-size zero tensor per slice
        if order == 1:
            _, dh = self.rows.split([1, d], dim=1)
            parts.append(f[1].unsqueeze(1) * dh)
        elif order == 2:
            _, dh, d2h = self.rows.split([1, d, self.n_second], dim=1)
            parts.append(f[1].unsqueeze(1) * dh)
            sq = dh.square().sum(1, keepdim=True) if laplacian else dh.square()
            parts.append(f[2].unsqueeze(1) * sq + f[1].unsqueeze(1) * d2h)
        return Rows(torch.cat(parts, dim=1), self.layout)

    def shift(self, bias: Tensor) -> Rows:
        """Rows of h + b, b (n,): a constant moves the value row only."""
        value, rest = self.rows.split([1, self.rows.shape[1] - 1], dim=1)
        return Rows(torch.cat([value + bias, rest], dim=1), self.layout)

    def linear(self, weight: Tensor, bias: Tensor | None = None) -> Rows:
        """Rows of h W^T + b, weight (out, n): every row maps linearly, one matmul for all of them."""
        out = Rows(self.rows @ weight.T, self.layout)
        return out if bias is None else out.shift(bias)

    def like(self, rows: Tensor) -> Rows:
        """New rows (N, S, m) in this layout."""
        return Rows(rows, self.layout)

    @property
    def value(self) -> Tensor:
        """(N, n)."""
        return self.rows[:, 0]

    def parts(self) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """For a standard layout: value (N, n), grad (N, D, n) or None, second-order rows (N, K, n) or None."""
        if self.standard is None:
            raise ValueError(f"parts() needs a standard layout, not {self.layout.keys}")
        d = self.dim
        sizes = [1, d, self.n_second][: self.order + 1]
        pieces = list(self.rows.split(sizes, dim=1)) + [None] * (2 - self.order)
        return pieces[0].squeeze(1), pieces[1], pieces[2]

    def to_jet(self, coords: tuple[str, ...], fields: tuple[str, ...]) -> Jet:
        return Jet(self.rows, self.layout, coords, fields)


def autograd_jet(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    layout: int | Layout,
    coords: tuple[str, ...],
    fields: tuple[str, ...],
    create_graph: bool = True,
    laplacian: bool = False,
) -> Jet:
    """Jet of ``fn`` at x (N, D) by nested reverse-mode autograd.

    fn maps (N, D) to (N, F). ``layout`` is a :class:`Layout` or a standard order
    (0, 1, 2; with ``laplacian`` the Laplacian in place of the diagonal). Every
    partial alpha is the gradient of its parent alpha[:-1] (one ``autograd.grad``
    per parent and field gives all its children). With ``create_graph`` the result
    can be differentiated again (training); without it, it is detached from x.
    """
    layout = as_layout(layout, x.shape[1], laplacian)
    x = x.detach().requires_grad_(True)
    wanted = [k for k in layout.keys if k != LAP]
    if LAP in layout:
        wanted += [(a, a) for a in range(layout.dim) if (a, a) not in layout]
    children: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
    for key in wanted:
        children.setdefault(key[:-1], set()).add(key)
    with torch.enable_grad():
        u = fn(x)
        n_fields = u.shape[1]
        values: dict[tuple[int, ...], list[Tensor]] = {(): [u[:, f] for f in range(n_fields)]}
        for parent in sorted(children, key=lambda k: (len(k), k)):
            # children are needed again (as parents) or, with create_graph, by the caller's backward
            keep = create_graph or any(c in children for c in children[parent])
            cols: list[Tensor] = []
            for f in range(n_fields):
                src = values[parent][f]
                if src.requires_grad:
                    (g,) = torch.autograd.grad(src.sum(), x, create_graph=keep, retain_graph=True, allow_unused=True)
                else:
                    g = None
                cols.append(torch.zeros_like(x) if g is None else g)
            for child in children[parent]:
                values[child] = [c[:, child[-1]] for c in cols]
    out = [u]
    for key in layout.keys:
        if key == LAP:
            out.append(sum(torch.stack(values[(a, a)], dim=1) for a in range(layout.dim)))
        else:
            out.append(torch.stack(values[key], dim=1))
    rows = torch.stack(out, dim=1)
    if not create_graph:
        rows = rows.detach()
    return Jet(rows, layout, coords, fields)


def forward_jet(
    model,
    x: Tensor,
    layout: int | Layout,
    coords: tuple[str, ...],
    fields: tuple[str, ...],
    laplacian: bool = False,
) -> Jet:
    """Jet of a surrogate at x (N, D) by forward propagation (``model.forward_jet``)."""
    return model.forward_jet(x, as_layout(layout, x.shape[1], laplacian)).to_jet(coords, fields)


def supports_forward(model) -> bool:
    """Whether the surrogate implements forward jet propagation (``Surrogate.has_forward_jet``)."""
    return bool(getattr(model, "has_forward_jet", callable(getattr(model, "forward_jet", None))))


def resolve_engine(name: str, model) -> str:
    """Pick the engine: ``auto`` is forward where the surrogate implements it."""
    if name not in ENGINES:
        raise ValueError(f"unknown derivative engine {name!r}; known: {', '.join(ENGINES)}")
    can_forward = supports_forward(model)
    if name == "forward" and not can_forward:
        raise ValueError(f"derivatives=forward is not available: the {model.kind!r} surrogate has no forward jet")
    if name == "auto":
        return "forward" if can_forward else "autograd"
    return name


def compute_jet(
    engine: str,
    model,
    x: Tensor,
    layout: int | Layout,
    coords,
    fields,
    create_graph: bool = True,
    laplacian: bool = False,
) -> Jet:
    """Jet of the surrogate at x with the named (resolved) engine; ``layout`` as in :func:`autograd_jet`."""
    layout = as_layout(layout, x.shape[1], laplacian)
    if not layout.keys:
        return Jet(model(x).unsqueeze(1), layout, coords, fields)
    if engine == "forward":
        if create_graph:
            return forward_jet(model, x, layout, coords, fields)
        with torch.no_grad():
            return forward_jet(model, x, layout, coords, fields)
    return autograd_jet(model, x, layout, coords, fields, create_graph=create_graph)
