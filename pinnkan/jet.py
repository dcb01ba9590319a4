"""The jet of a field at a batch of points, and the engines that compute it.

A :class:`Jet` holds, per point and output field, the value, the gradient and
the diagonal of the Hessian — everything the residuals of the standard PINN
benchmarks need (docs/architecture.md) — or, for problems that declare
``hessian = "laplacian"``, only the Laplacian in place of the diagonal (one row
instead of D, which is what makes forward jets pay off for MLPs). Two engines
build it:

- :func:`autograd_jet` — nested reverse mode (``torch.autograd.grad`` with
  ``create_graph=True``); works for any callable, the reference.
- :func:`forward_jet` — pushes the jet through the surrogate layer by layer with
  closed-form derivatives of every layer (``Surrogate.forward_jet``); parameter
  gradients then need first-order backward only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

ENGINES = ("auto", "autograd", "forward")


class JetError(ValueError):
    """A residual asked a jet for something it does not hold (unknown name, missing order)."""


@dataclass
class Jet:
    """value (N, F); grad and diag (N, D, F) or None when not computed.

    ``coords`` names the D input coordinates and ``fields`` the F outputs. With a
    single field, ``val``, ``d`` and ``dd`` return (N,) tensors; with several,
    select one first with ``jet["name"]``. A Laplacian-only jet has ``diag`` None
    and ``laplacian`` (N, F); it answers ``lap()`` and refuses ``dd``.
    """

    value: Tensor
    grad: Tensor | None
    diag: Tensor | None
    coords: tuple[str, ...]
    fields: tuple[str, ...]
    laplacian: Tensor | None = None

    def __getitem__(self, field: str) -> Jet:
        if field not in self.fields:
            raise JetError(f"jet has no field {field!r}; fields: {', '.join(self.fields)}")
        j = self.fields.index(field)
        pick = slice(j, j + 1)
        return Jet(
            self.value[:, pick],
            None if self.grad is None else self.grad[..., pick],
            None if self.diag is None else self.diag[..., pick],
            self.coords,
            (field,),
            None if self.laplacian is None else self.laplacian[:, pick],
        )

    def _single(self, t: Tensor) -> Tensor:
        if len(self.fields) != 1:
            raise JetError(f"jet has fields {self.fields}: select one with jet[name]")
        return t[..., 0]

    @property
    def val(self) -> Tensor:
        """(N,) value of the single field."""
        return self._single(self.value)

    def d(self, coord: str) -> Tensor:
        """(N,) first derivative along ``coord``."""
        if self.grad is None:
            raise JetError("this jet was computed without first derivatives")
        return self._single(self.grad[:, self._axis(coord)])

    def _axis(self, coord: str) -> int:
        if coord not in self.coords:
            raise JetError(f"jet has no coordinate {coord!r}; coords: {', '.join(self.coords)}")
        return self.coords.index(coord)

    def dd(self, coord: str) -> Tensor:
        """(N,) second derivative along ``coord``."""
        if self.diag is None:
            if self.laplacian is not None:
                raise JetError(
                    "this jet carries the Laplacian only (the problem declares hessian = 'laplacian'): "
                    "use jet.lap(), or declare hessian = 'diag'"
                )
            raise JetError("this jet was computed without second derivatives")
        return self._single(self.diag[:, self._axis(coord)])

    def lap(self, coords: Sequence[str] | None = None) -> Tensor:
        """(N,) sum of second derivatives over ``coords`` (default: all)."""
        if self.diag is None and self.laplacian is not None:
            if coords is not None and set(coords) != set(self.coords):
                raise JetError("this jet carries the full Laplacian only: declare hessian = 'diag' for partial sums")
            return self._single(self.laplacian)
        return sum(self.dd(c) for c in (coords or self.coords))


def autograd_jet(
    fn: Callable[[Tensor], Tensor],
    x: Tensor,
    order: int,
    coords: tuple[str, ...],
    fields: tuple[str, ...],
    create_graph: bool = True,
    laplacian: bool = False,
) -> Jet:
    """Jet of ``fn`` at x (N, D) by nested reverse-mode autograd.

    fn maps (N, D) to (N, F). With ``create_graph`` the result can be
    differentiated again (training); without it, it is detached from x. With
    ``laplacian`` (and order 2) the jet keeps the Laplacian in place of the diagonal.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        u = fn(x)
        if order == 0:
            return Jet(u, None, None, coords, fields)
        grads, diags = [], []
        keep = create_graph or order >= 2
        n_fields = u.shape[1]
        for f in range(n_fields):
            retain = keep or f < n_fields - 1  # the other fields still need u's graph
            (g,) = torch.autograd.grad(u[:, f].sum(), x, create_graph=keep, retain_graph=retain)
            grads.append(g)
            if order >= 2:
                cols = []
                for a in range(x.shape[1]):
                    last = a == x.shape[1] - 1 and f == n_fields - 1
                    (h,) = torch.autograd.grad(
                        g[:, a].sum(), x, create_graph=create_graph, retain_graph=create_graph or not last
                    )
                    cols.append(h[:, a])
                diags.append(torch.stack(cols, dim=1))
    grad = torch.stack(grads, dim=-1)
    diag = torch.stack(diags, dim=-1) if order >= 2 else None
    if not create_graph:
        u, grad = u.detach(), grad.detach()
        diag = None if diag is None else diag.detach()
    if laplacian and diag is not None:
        return Jet(u, grad, None, coords, fields, diag.sum(1))
    return Jet(u, grad, diag, coords, fields)


@dataclass
class Rows:
    """A jet in the layer-stacked layout surrogates propagate.

    rows: (N, S, n) with S = 1 + D*(order >= 1) + K*(order >= 2): row 0 the value,
    then D gradient rows, then K = D Hessian-diagonal rows, or K = 1 Laplacian row
    when ``laplacian``. Stacking lets a linear map act on all parts in one matmul.
    """

    rows: Tensor
    dim: int
    order: int
    laplacian: bool = False

    @property
    def n_second(self) -> int:
        """K, the number of second-order rows (0 below order 2)."""
        return 0 if self.order < 2 else (1 if self.laplacian else self.dim)

    @classmethod
    def of_input(cls, x: Tensor, order: int, scale: Tensor, shift: Tensor, laplacian: bool = False) -> Rows:
        """Rows of the affine input map z = scale * x + shift; x (N, D)."""
        n, d = x.shape
        parts = [(x * scale + shift).unsqueeze(1)]
        if order >= 1:
            parts.append(torch.diag(scale).expand(n, d, d))
        if order >= 2:
            parts.append(x.new_zeros(n, 1 if laplacian else d, d))
        return cls(torch.cat(parts, dim=1), d, order, laplacian)

    def pointwise(self, f0: Tensor, f1: Tensor | None, f2: Tensor | None) -> Rows:
        """Rows of phi(h) from phi, phi', phi'' at the value row h, each (N, n).

        grad: phi'(h) dh; diag: phi''(h) dh^2 + phi'(h) d2h (docs/architecture.md); the
        Laplacian row sums the dh^2 term over the D directions.
        """
        d = self.dim
        parts = [f0.unsqueeze(1)]
        # split, not slicing: slice backward fills a full-size zero tensor per slice
        if self.order == 1:
            _, dh = self.rows.split([1, d], dim=1)
            parts.append(f1.unsqueeze(1) * dh)
        elif self.order >= 2:
            _, dh, d2h = self.rows.split([1, d, self.n_second], dim=1)
            parts.append(f1.unsqueeze(1) * dh)
            sq = dh.square().sum(1, keepdim=True) if self.laplacian else dh.square()
            parts.append(f2.unsqueeze(1) * sq + f1.unsqueeze(1) * d2h)
        return Rows(torch.cat(parts, dim=1), self.dim, self.order, self.laplacian)

    def shift(self, bias: Tensor) -> Rows:
        """Rows of h + b, b (n,): a constant moves the value row only."""
        value, rest = self.rows.split([1, self.rows.shape[1] - 1], dim=1)
        return Rows(torch.cat([value + bias, rest], dim=1), self.dim, self.order, self.laplacian)

    def linear(self, weight: Tensor, bias: Tensor | None = None) -> Rows:
        """Rows of h W^T + b, weight (out, n): every row maps linearly, one matmul for all of them."""
        out = Rows(self.rows @ weight.T, self.dim, self.order, self.laplacian)
        return out if bias is None else out.shift(bias)

    def to_laplacian(self) -> Rows:
        """The same jet with its D diagonal rows summed into one Laplacian row."""
        if self.order < 2 or self.laplacian:
            return self
        value, grad, diag = self.parts()
        return Rows(torch.cat([value.unsqueeze(1), grad, diag.sum(1, keepdim=True)], 1), self.dim, 2, True)

    @property
    def value(self) -> Tensor:
        """(N, n)."""
        return self.rows[:, 0]

    def parts(self) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """value (N, n), grad (N, D, n) or None, second-order rows (N, K, n) or None."""
        d = self.dim
        sizes = [1, d, self.n_second][: self.order + 1]
        pieces = list(self.rows.split(sizes, dim=1)) + [None] * (2 - self.order)
        return pieces[0].squeeze(1), pieces[1], pieces[2]

    def to_jet(self, coords: tuple[str, ...], fields: tuple[str, ...]) -> Jet:
        value, grad, second = self.parts()
        if self.laplacian and second is not None:
            return Jet(value, grad, None, coords, fields, second.squeeze(1))
        return Jet(value, grad, second, coords, fields)


def forward_jet(
    model, x: Tensor, order: int, coords: tuple[str, ...], fields: tuple[str, ...], laplacian: bool = False
) -> Jet:
    """Jet of a surrogate at x (N, D) by forward propagation (``model.forward_jet``)."""
    return model.forward_jet(x, order, laplacian=laplacian).to_jet(coords, fields)


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
    engine: str, model, x: Tensor, order: int, coords, fields, create_graph: bool = True, laplacian: bool = False
) -> Jet:
    """Jet of the surrogate at x with the named (resolved) engine; see :class:`Jet` for ``laplacian``."""
    if order == 0:
        return Jet(model(x), None, None, coords, fields)
    if engine == "forward":
        if create_graph:
            return forward_jet(model, x, order, coords, fields, laplacian)
        with torch.no_grad():
            return forward_jet(model, x, order, coords, fields, laplacian)
    return autograd_jet(model, x, order, coords, fields, create_graph=create_graph, laplacian=laplacian)
