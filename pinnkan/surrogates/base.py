"""The interface every surrogate implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from pinnkan.jet import Rows
from pinnkan.keys import Key
from pinnkan.layout import Layout, as_layout


class OutputScale(nn.Module):
    """Multiplies the network's output (..., F) by fixed per-field factors ``scale`` (F,): a problem whose fields
    are of size 1e3 trains a network of outputs of size 1 (``model.output_scale``, the plan's from the data)."""

    def __init__(self, scale) -> None:
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.get_default_dtype()).reshape(-1))

    def forward(self, y: Tensor) -> Tensor:
        return y * self.scale.to(y.dtype)

    def spec(self) -> list[float]:
        return [float(v) for v in self.scale]


class Surrogate(nn.Module):
    """A network from the box domain (N, D) to the fields (N, F).

    Inputs are mapped affinely from the box ``[lo, hi]`` to ``[-1, 1]^D`` first,
    so every surrogate sees the same scale whatever the problem's domain.
    Subclasses implement ``body`` (normalised inputs to outputs) and, for the fast
    derivative engine, ``body_jet`` (the same on stacked jet rows).

    Class attributes are the surrogate's defaults and settings, read by the
    configuration (one home for every per-surrogate name):

    - ``kind``: its registry name (``--model KIND``);
    - ``default_hidden``: hidden widths when neither the user nor the problem gives
      ``width`` (a problem may say ``<kind>_hidden``);
    - ``default_lr``: Adam's learning rate (a problem may say ``lr`` or ``<kind>_lr``);
    - ``default_grids``: the grid-extension ladder, for surrogates with ``extend_grid``;
    - ``config_keys``: its own ``[model]`` settings, passed to ``__init__`` by name;
    - ``reference_options``: settings of the plain reference formulation that
      ``pinnkan bench`` times as ``autograd`` (empty: the surrogate as it is).
    """

    kind: ClassVar[str] = ""
    default_hidden: ClassVar[tuple[int, ...]] = (32, 32)
    default_lr: ClassVar[float] = 1e-3
    default_grids: ClassVar[tuple[int, ...]] = ()
    config_keys: ClassVar[dict[str, Key]] = {}
    reference_options: ClassVar[dict[str, Any]] = {}
    # its fused jet kernels take standard layouts only (value, gradient, Hessian diagonal or Laplacian): other
    # layouts are computed through the smallest standard one that holds them (see ``_covered_rows``)
    fused_standard: ClassVar[bool] = False

    def __init__(self, lo: Tensor, hi: Tensor) -> None:
        super().__init__()
        lo, hi = (
            torch.as_tensor(lo, dtype=torch.get_default_dtype()),
            torch.as_tensor(hi, dtype=torch.get_default_dtype()),
        )
        self.register_buffer("in_scale", 2.0 / (hi - lo))
        self.register_buffer("in_shift", -(hi + lo) / (hi - lo))

    @classmethod
    def from_config(cls, widths: Sequence[int], lo: Tensor, hi: Tensor, options: dict[str, Any]) -> Surrogate:
        """Build from widths, the domain's bounding box (lo, hi) (D,) and a ``[model]`` section."""
        kwargs = {k: options[k] for k in cls.config_keys if options.get(k) is not None}
        return cls(list(widths), lo, hi, **kwargs)

    @classmethod
    def setting_default(cls, key: str) -> Any:
        """The built-in value of one of its ``config_keys``: the key's default, else ``__init__``'s."""
        import inspect

        if cls.config_keys[key].default is not None:
            return cls.config_keys[key].default
        param = inspect.signature(cls.__init__).parameters.get(key)
        return None if param is None or param.default is inspect.Parameter.empty else param.default

    @classmethod
    def has_grid(cls) -> bool:
        """Whether it refines by grid extension (``extend_grid(grid, x)``) between training stages."""
        return callable(getattr(cls, "extend_grid", None))

    @classmethod
    def forward_capable(cls) -> bool:
        """Whether the class implements the forward jet engine (``body_jet`` or its own ``jet_rows``)."""
        return cls.body_jet is not Surrogate.body_jet or cls.jet_rows is not Surrogate.jet_rows

    @property
    def has_forward_jet(self) -> bool:
        return self.forward_capable()

    def forward(self, x: Tensor) -> Tensor:
        """x (N, D) -> (N, F)."""
        y = self.body(x * self.in_scale + self.in_shift)
        scale = self._modules.get("output_scale")  # the fields' size, so the network works at order one
        y = y if scale is None else scale(y)
        enrichment = self._modules.get("enrichment")
        y = y if enrichment is None else y + enrichment(x)
        constraint = self._modules.get("constraint")  # hard Dirichlet data, u = g + d N (pinnkan.constraint)
        return y if constraint is None else constraint(x, y)

    def forward_jet(self, x: Tensor, layout: int | Layout, laplacian: bool = False) -> Rows:
        """The value and the partials of ``layout`` at x (N, D) as stacked rows (N, S, F).

        ``layout``: a :class:`~pinnkan.layout.Layout`, or a standard order (0, 1, 2; with
        ``laplacian`` one Laplacian row in place of the Hessian diagonal).
        """
        layout = as_layout(layout, x.shape[1], laplacian)
        rows = self._covered_rows(x, layout)
        scale = self._modules.get("output_scale")
        rows = rows if scale is None else rows.like(scale(rows.rows))
        enrichment = self._modules.get("enrichment")  # known singular functions (pinnkan.enrichment)
        rows = rows if enrichment is None else rows.like(rows.rows + enrichment.rows(x, layout))
        constraint = self._modules.get("constraint")  # hard Dirichlet data, u = g + d N (pinnkan.constraint)
        return rows if constraint is None else rows.like(constraint.rows(x, layout, rows.rows))

    def _covered_rows(self, x: Tensor, layout: Layout) -> Rows:
        """The network's rows in ``layout``; where its fused kernels take only standard layouts, through the
        smallest standard layout that holds it, then the rows asked for (a heat equation's u_x, u_t, u_xx
        through u_x, u_t, u_xx, u_tt: one more row in the fused kernels beats the general path)."""
        cover = layout.standard_cover() if self.fused_standard and self._fused() else None
        if cover is None or cover == layout:
            return self.jet_rows(x, layout)
        full = self.jet_rows(x, cover)
        keep = [0] + [cover.row(k) for k in layout.keys]
        return Rows(full.rows[:, keep], layout)

    def _fused(self) -> bool:
        """Whether the fused nodes are on (off inside the Gauss-Newton Jacobian: torch.func cannot batch them)."""
        return any(getattr(m, "fused", False) for m in self.modules())

    def jet_rows(self, x: Tensor, layout: Layout) -> Rows:
        """The network's own rows (N, S, F) at x (N, D); surrogates with a fused whole-network jet override it."""
        return self.body_jet(Rows.of_input(x, layout, self.in_scale, self.in_shift))

    def edge_sum(self, x: Tensor) -> float | None:
        """The sum of every edge function's importance (mean |phi| over the inputs it sees at x (N, D)), for a
        surrogate with edge functions (a KAN): how sparse it is, which restart scouting prefers. None here."""
        return None

    def grow(self, x: Tensor) -> str | None:
        """Grow the network in place without changing the function it computes (more grid intervals, a higher
        degree, wider layers), fitting what needs fitting on the points x (N, D); returns what grew
        ("grid 10 -> 20"), or None (nothing changed) when it cannot grow. Budgeted training
        (:mod:`pinnkan.training.adaptive`) calls it when the check-set residual stops falling."""
        return None

    def grown_params(self) -> int | None:
        """The trainable parameters after the next :meth:`grow`, or None when it cannot grow."""
        return None

    def check_layout(self, layout: Layout) -> None:
        """Raise ValueError (one line) if this surrogate cannot represent the partials of ``layout``
        faithfully (a spline of too low a degree for the residual's order, say)."""
        return None

    def body(self, z: Tensor) -> Tensor:
        raise NotImplementedError

    def body_jet(self, rows: Rows) -> Rows:
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """Everything needed to rebuild this surrogate (JSON-able)."""
        raise NotImplementedError

    def box(self) -> tuple[Tensor, Tensor]:
        """(lo, hi) (D,): the box the inputs are mapped from (inverse of the map to [-1, 1]^D)."""
        return (self.in_shift.neg() - 1) / self.in_scale, (1 - self.in_shift) / self.in_scale

    @property
    def n_params(self) -> int:
        """Trainable parameters of the network (an inverse problem's unknowns not counted; an enrichment's
        coefficients counted: they are part of the solution's form)."""
        return sum(p.numel() for n, p in self.named_parameters() if p.requires_grad and not n.startswith("unknowns."))
