"""How a PDE problem is declared: domain, residual, conditions, solution.

A problem is one class (docs/architecture.md)::

    class Poisson(Problem):
        name = "poisson"
        description = "..."
        coords = ("x", "y")
        domain = Box((-1, -1), (1, 1))
        conditions = (Dirichlet(),)          # u = exact on the whole boundary
        def residual(self, x, jet): return jet.lap() - self.forcing(x)
        def exact(self, x): return ...        # (N, F) torch expression

Class attribute ``params`` lists the problem's parameters with defaults; each is
an attribute of the instance and can be overridden (``--set problem.k=2``).

The partial derivatives the residual reads (``jet.d("x", "y")``, ``jet.lap()``,
...) are found by evaluating it once on a recording jet (pinnkan.recording), and
the engines compute exactly those; a residual that cannot be recorded that way
declares them in ``derivatives`` (``("t", "x", "xxx")``).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
from torch import Tensor

from pinnkan.conditions import (
    RESERVED_NAMES,
    Condition,
    Derivative,
    Dirichlet,
    Initial,
    Neumann,
    Operator,
    Periodic,
    PointSet,
    Robin,
    condition_names,
)
from pinnkan.domains import Ball, Box, Disk, Domain, Polygon, SpaceTime
from pinnkan.enrichment import CornerSingularity
from pinnkan.jet import Jet
from pinnkan.layout import Layout

__all__ = [
    "Ball",
    "Box",
    "Condition",
    "CornerSingularity",
    "Derivative",
    "Dirichlet",
    "Disk",
    "Domain",
    "Initial",
    "Neumann",
    "Operator",
    "Periodic",
    "PointSet",
    "Polygon",
    "Problem",
    "Robin",
    "SpaceTime",
    "validate",
]


class Problem:
    """Base class of every PDE problem; subclasses fill in the class attributes."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    coords: ClassVar[tuple[str, ...]] = ()
    domain: ClassVar[Domain]
    fields: ClassVar[tuple[str, ...]] = ("u",)
    time: ClassVar[str | None] = None
    conditions: ClassVar[tuple[Condition, ...]] = ()
    params: ClassVar[dict[str, float]] = {}
    # the partials the residual reads, when recording cannot find them (see the module docstring):
    # each a coordinate string ("xxy" for single-letter coordinates, "x1,x2" otherwise), a tuple of
    # coordinate names, or "lap"; None: recorded
    derivatives: ClassVar[tuple[str | tuple[str, ...], ...] | None] = None
    # kept so that older problem files load; the recorded layout decides which rows jets carry
    hessian: ClassVar[str] = "diag"
    # default settings: any of n_interior, n_boundary, alpha, width, grids, steps, ...
    defaults: ClassVar[dict[str, Any]] = {}
    # parameters learned from observations (inverse problems): name -> pinnkan.Unknown; the configured value
    # of such a parameter is its true value (references, synthetic observations), the Unknown's initial the guess
    unknowns: ClassVar[dict[str, Any]] = {}
    # known singular functions added to the surrogate with trainable coefficients (pinnkan.enrichment), e.g.
    # ``domain.corner_singularities()`` at a polygon's re-entrant corners; ``model.enrich = false`` turns it off
    enrichment: ClassVar[tuple[Any, ...]] = ()

    def __init__(self, unknowns: str | list[str] | None = None, **params: float) -> None:
        """``params`` override the class's; ``unknowns`` names more parameters to learn, ``"nu"`` or
        ``"nu=0.05,k"`` (a name with an initial guess; without one the configured value is the guess)."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise ValueError(f"problem {self.name!r} has no parameter {unknown[0]!r}; known: {known}")
        for key, default in self.params.items():
            value = params.get(key, default)
            try:
                setattr(self, key, type(default)(value))
            except (TypeError, ValueError):
                raise ValueError(f"problem.{key} = {value!r} is not a {type(default).__name__}") from None
        self.setup()
        if self.time is None:
            self.time = time_coordinate(self.domain, self.coords)
        from pinnkan.unknowns import parse_request, specs_for

        names, guesses = parse_request(unknowns)
        current = {k: getattr(self, k) for k in self.params}
        self.unknown_specs = specs_for(self, names, guesses, current)

    def setup(self) -> None:
        """Hook run after the parameters are set (e.g. to size coords and domain by a parameter)."""

    # --- what a problem defines -------------------------------------------------
    def residual(self, x: Tensor, jet: Jet) -> Tensor:
        """PDE residual at interior points x (N, D) from the jet; (N,) or (N, E)."""
        raise NotImplementedError

    def exact(self, x: Tensor) -> Tensor:
        """Exact solution (N, F) at x (N, D), as a differentiable torch expression."""
        raise NotImplementedError

    def reference(self) -> tuple[list[np.ndarray], np.ndarray]:
        """Computed reference solution on a tensor grid, for problems without an exact one.

        Returns the grid's axes (one 1-D array per coordinate, in ``coords`` order) and the
        values, shape (len(axis_0), ..., len(axis_{D-1}), F); NaN at grid points outside the domain.
        Cache it (pinnkan.cache).
        """
        raise NotImplementedError

    def reference_test_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test points (M, D), values (M, F) and gradients (M, D, F) from :meth:`reference`.

        Gradients are second-order finite differences on the reference grid; grid points outside
        the domain, or whose difference stencil leaves it, are left out; at a singular tip
        (:meth:`at_singular_points`) the gradient is NaN.
        """
        axes, values = self.reference()
        mesh = np.meshgrid(*axes, indexing="ij")
        x = np.stack([m.ravel() for m in mesh], axis=1)
        f = values.shape[-1]
        grads = np.gradient(values, *axes, axis=tuple(range(len(axes))), edge_order=2)
        grad = np.stack([g.reshape(-1, f) for g in grads], axis=1)
        u = values.reshape(-1, f)
        tip = self.at_singular_points(x)
        grad[tip] = np.nan  # infinite there: the H1 error leaves such points out (metrics.error_metrics)
        keep = np.isfinite(u).all(1) & (np.isfinite(grad).all((1, 2)) | tip) & self.domain.contains(x)
        if keep.all():
            return x, u, grad
        return x[keep], u[keep], grad[keep]

    @property
    def has_exact(self) -> bool:
        return type(self).exact is not Problem.exact

    @property
    def has_observations(self) -> bool:
        """It makes its own observations (:meth:`observations`): a built-in inverse problem."""
        return type(self).observations is not Problem.observations

    @property
    def has_reference(self) -> bool:
        """A computed reference solution (:meth:`reference`) exists."""
        return type(self).reference is not Problem.reference

    def reference_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Reference values at scattered points, for a problem whose solution is known only there (a
        benchmark's table): points (M, D) and values (M, F), NaN where a field is not known. Used to measure
        errors when there is neither :meth:`exact` nor :meth:`reference`."""
        raise NotImplementedError

    @property
    def has_reference_points(self) -> bool:
        return type(self).reference_points is not Problem.reference_points

    def reference_data(self):
        """:meth:`reference_points` checked, as :class:`pinnkan.reference_data.ReferenceData`."""
        from pinnkan.reference_data import reference_from_columns

        x, u = (np.asarray(a, dtype=float) for a in self.reference_points())
        u = u.reshape(len(x), -1)
        cols = {c: x[:, i] for i, c in enumerate(self.coords)}
        cols.update({f: u[:, j] for j, f in enumerate(self.fields) if j < u.shape[1]})
        return reference_from_columns(self, cols, f"problem {self.name!r}: reference_points()")

    # --- derived ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.coords)

    def jet_layout(self) -> Layout:
        """The partials the residual needs: declared (``derivatives``) or recorded on 8 interior points."""
        cached = self.__dict__.get("_jet_layout")
        if cached is None:
            import torch

            from pinnkan.recording import declared_layout, record_layout

            if self.derivatives is not None:
                cached = declared_layout(self.derivatives, self.coords)
            else:
                x = torch.as_tensor(self.interior(8, seed=0), dtype=torch.float64)
                cached = record_layout(self.residual, x, self.coords, self.fields)
            self.__dict__["_jet_layout"] = cached
        return cached

    def condition_layout(self, index: int) -> Layout:
        """The partials condition ``index``'s residual needs, recorded on a few of its points."""
        cache = self.__dict__.setdefault("_condition_layouts", {})
        if index not in cache:
            import torch

            from pinnkan.recording import record_layout

            cond = self.conditions[index]
            x = torch.as_tensor(cond.points(self, 4, seed=0), dtype=torch.float64)
            cache[index] = record_layout(lambda x, jet: cond.residual(self, x, jet), x, self.coords, self.fields)
        return cache[index]

    def layouts(self) -> list[Layout]:
        """The residual's layout, then every condition's."""
        return [self.jet_layout(), *(self.condition_layout(i) for i in range(len(self.conditions)))]

    def param_values(self) -> dict[str, float]:
        """Every parameter's configured value (for an unknown one: its true value, not the estimate)."""
        return {k: self.configured(k) for k in self.params}

    def configured(self, name: str) -> float:
        """The configured value of parameter ``name``, also while the loss reads an unknown's estimate."""
        saved = self.__dict__.get("_configured_values")
        if saved is not None and name in saved:
            return saved[name]
        return getattr(self, name)

    def observations(self):
        """Observations of the solution (:class:`pinnkan.observations.Observations`) an inverse problem
        brings itself (synthetic, from its reference), or None."""
        return None

    @property
    def condition_names(self) -> tuple[str, ...]:
        """The name of each condition, in order (its loss is logged as ``<name>_loss``)."""
        return condition_names(self.conditions)

    def interior(self, n: int, seed: int, method: str = "sobol") -> np.ndarray:
        """n interior collocation points, (n, D)."""
        return self.domain.sample_interior(n, seed, method)

    def test_points(self) -> np.ndarray:
        """The fixed test set T: a 101 x 101 grid in 2-D (1001 points in 1-D), else 2^14 Sobol points (seed 0)."""
        if self.dim <= 2:
            return self.domain.grid(101 if self.dim == 2 else 1001)
        return self.domain.sample_interior(2**14, seed=0)

    def at_singular_points(self, x: np.ndarray) -> np.ndarray:
        """(M,) bool for points x (M, D): True at a tip of the problem's ``enrichment``, where the solution's
        gradient is infinite."""
        at = np.zeros(len(x), dtype=bool)
        for f in self.enrichment:
            tip = np.asarray(f.vertex, dtype=float)
            at |= np.linalg.norm(x[:, list(f.axes)] - tip, axis=1) <= 1e-9 * max(1.0, float(np.abs(tip).max()))
        return at


HESSIANS = ("diag", "laplacian")
# coordinate names taken for time when a problem does not say (``time = ...``) and its domain is no SpaceTime
TIME_NAMES = ("t", "time")


def time_coordinate(domain: Domain, coords: tuple[str, ...]) -> str | None:
    """The time coordinate a problem leaves unsaid: a SpaceTime's last axis, else a coordinate named t or time."""
    if isinstance(domain, SpaceTime) and coords:
        return coords[-1]
    named = [c for c in coords if c in TIME_NAMES]
    return named[0] if len(named) == 1 else None


def validate(cls: type) -> list[str]:
    """What a problem class lacks to be usable; [] when complete."""
    missing = []
    if not (isinstance(cls, type) and issubclass(cls, Problem)):
        return ["it is not a subclass of pinnkan.Problem"]
    for attr in ("name", "description", "coords"):
        if not getattr(cls, attr, None):
            missing.append(attr)
    dom = getattr(cls, "domain", None)
    if not isinstance(dom, Domain):
        missing.append("domain (a pinnkan Domain such as Box)")
    elif cls.coords and dom.dim != len(cls.coords):
        missing.append(f"domain of dimension {len(cls.coords)} (coords {cls.coords})")
    if cls.residual is Problem.residual:
        missing.append("residual(self, x, jet)")
    if not cls.conditions:
        missing.append("conditions")
    if cls.exact is Problem.exact:
        needs = [
            n for n, c in zip(condition_names(tuple(cls.conditions or ())), cls.conditions or ())
            if getattr(c, "uses_exact", False) and getattr(c, "value", 0) is None
            and not isinstance(getattr(c, "at", None), str | os.PathLike)
        ]
        if needs:
            missing.append(f"a value for condition(s) {', '.join(needs)} (or exact(self, x): they default to it)")
    if getattr(cls, "hessian", "diag") not in HESSIANS:
        missing.append(f"hessian one of {', '.join(HESSIANS)} (not {cls.hessian!r})")
    if cls.time is not None and cls.time not in cls.coords:
        missing.append(f"time coordinate {cls.time!r} in coords")
    names = condition_names(tuple(cls.conditions or ()))
    clash = [n for n in names if n in RESERVED_NAMES or not n.isidentifier()]
    if clash or len(set(names)) != len(names):
        missing.append(f"distinct condition names, identifiers other than pde, bc, ic (got {', '.join(names)})")
    return missing
