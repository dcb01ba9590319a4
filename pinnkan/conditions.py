"""Boundary and initial conditions: where a condition's points lie and its residual there.

A condition is a small dataclass: ``points`` samples its part of the domain's
boundary and ``residual`` says how far the surrogate's jet is from satisfying
it. ``faces`` names the boundary parts it holds on (a box's ``x-``, a polygon's
``edge2``, a ball's ``sphere``, a named shape of a set operation, ``all``, or
``space`` for every part but the time caps); ``where`` (points (m, D) -> (m,)
bool) narrows them by a predicate. Values are a function ``value(problem, x)``
of the points x (n, D) giving (n,) or (n, F), a constant, or (Dirichlet and
initial conditions) left out for the problem's exact solution. Each condition
has a ``name`` (by default derived from its type, e.g. ``dirichlet``,
``neumann``, ``periodic_x``); its loss is logged as ``<name>_loss`` and summed
with the others of its ``kind`` into ``bc_loss`` or ``ic_loss``. A new kind of
condition is one subclass here (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from pinnkan.jet import Jet

if TYPE_CHECKING:
    from pinnkan.problem import Problem

ValueFn = Callable[[Any, Tensor], Tensor]
Value = ValueFn | float | None
BoundaryPredicate = Callable[[np.ndarray], np.ndarray]


def boundary_parts(problem: Problem, spec: tuple[str, ...]) -> tuple[str, ...]:
    """Part names as the domain knows them; 'space' means every part not normal to the time axis."""
    out: list[str] = []
    for name in spec:
        if name == "space":
            out += [p for p in problem.domain.parts(problem.coords) if p[:-1] != problem.time]
        else:
            out.append(name)
    return tuple(out)


def evaluate_value(value: Value, problem: Problem, x: Tensor, like: Tensor) -> Tensor:
    """A condition's value at x (n, D), shaped as ``like`` ((n,) or (n, F)): a function's result, a
    constant, or (``None``) the problem's exact solution."""
    if value is None:
        out = problem.exact(x)
    elif callable(value):
        out = value(problem, x)
    else:
        return torch.full_like(like, float(value))
    if not isinstance(out, Tensor):
        out = torch.as_tensor(out, dtype=like.dtype, device=like.device)
    if out.numel() == like.shape[0] and like.dim() == 2 and like.shape[1] > 1:
        out = out.reshape(-1, 1)  # one value per point for every field
    return out.reshape(like.shape) if out.numel() == like.numel() else out.expand_as(like)


def sample_faces(cond: Any, problem: Problem, n: int, seed: int, faces: tuple[str, ...]) -> np.ndarray:
    """n points on the condition's boundary parts, narrowed by its ``where`` predicate."""
    parts = boundary_parts(problem, faces)
    return problem.domain.sample_boundary(n, seed, problem.coords, parts, getattr(cond, "where", None)).points


def normal_derivative(problem: Problem, x: Tensor, jet: Jet) -> Tensor:
    """(n, F) derivative of every field along the domain's outward unit normal at boundary points x (n, D)."""
    normal = problem.domain.normal(x).to(dtype=jet.grad.dtype)
    return (jet.grad * normal[:, :, None]).sum(1)


class Condition:
    """A constraint on a part of the boundary: sampled points and a residual there.

    ``kind`` is the loss group it feeds ("bc" or "ic"); ``weight`` multiplies its
    mean squared residual. The partials its residual reads are recorded from one
    evaluation (``Problem.condition_layout``), so a condition never lists them.
    ``coupled_points`` says how many points each residual entry depends on (its
    points come as that many equal blocks; 1: every entry is one point's), which
    the per-point Jacobians of Gauss–Newton training rely on.
    """

    kind: str = "bc"
    weight: float = 1.0
    name: str = ""
    coupled_points: ClassVar[int] = 1
    # whether the value defaults to the problem's exact solution (Dirichlet, Initial)
    uses_exact: ClassVar[bool] = False

    def default_name(self) -> str:
        """The name used when ``name`` is empty: the class name in lower case."""
        return type(self).__name__.lower()

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        """Its n training points, (n, D) (or as many as the part has in 1-D)."""
        raise NotImplementedError

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        """(n,) or (n, E) residual at its points x from the jet there."""
        raise NotImplementedError


@dataclass
class OnBoundary(Condition):
    """A condition at points of named boundary parts (``faces``, narrowed by ``where``) with a target
    ``value``: what Dirichlet, Initial, Derivative, Neumann and Robin share."""

    faces: tuple[str, ...] = ("all",)
    value: Value = None
    kind: str = "bc"
    weight: float = 1.0
    name: str = ""
    where: BoundaryPredicate | None = None

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return sample_faces(self, problem, n, seed, self.faces)

    def minus_value(self, problem: Problem, x: Tensor, lhs: Tensor) -> Tensor:
        """lhs - value at x; a value left out is the exact solution where ``uses_exact``, else 0."""
        if self.value is None and not self.uses_exact:
            return lhs
        return lhs - evaluate_value(self.value, problem, x, lhs)


@dataclass
class Dirichlet(OnBoundary):
    """u = value on ``faces`` (default: the exact solution on the whole boundary)."""

    uses_exact: ClassVar[bool] = True

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        return self.minus_value(problem, x, jet.value)


@dataclass
class Initial(Dirichlet):
    """u = value at the start time (default: the exact solution)."""

    faces: tuple[str, ...] = ()
    kind: str = "ic"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return sample_faces(self, problem, n, seed, self.faces or (f"{problem.time}-",))


@dataclass
class Derivative(OnBoundary):
    """d u / d coord = value (default 0) on ``faces`` (Neumann on a box face, initial rate on 't-')."""

    coord: str = "x"

    def default_name(self) -> str:
        return f"derivative_{self.coord}"

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        return self.minus_value(problem, x, jet.partial((problem.coords.index(self.coord),)))


@dataclass
class Neumann(OnBoundary):
    """du/dn = value (default 0) on ``faces``, n the domain's outward unit normal."""

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        return self.minus_value(problem, x, normal_derivative(problem, x, jet))


@dataclass
class Robin(OnBoundary):
    """a u + b du/dn = value (default 0) on ``faces``; a and b constants or functions ``(problem, x) -> (n,)``."""

    a: Value = 1.0
    b: Value = 1.0

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        u, dn = jet.value, normal_derivative(problem, x, jet)
        lhs = evaluate_value(self.a, problem, x, u) * u + evaluate_value(self.b, problem, x, dn) * dn
        return self.minus_value(problem, x, lhs)


@dataclass
class Operator(OnBoundary):
    """operator(problem, x, jet) = value (default 0) on ``faces``: any expression of the jet.

    For what the other conditions do not say: a simply supported plate's ``jet.lap()`` = 0,
    a free beam end's ``jet.d("x", "x")`` = 0, a flux ``k(x) * jet.d("x")`` = g. The operator
    returns (n,) or (n, F); the partials it reads are recorded like a residual's.
    """

    operator: Callable[[Any, Tensor, Jet], Tensor] | None = None

    def default_name(self) -> str:
        return "operator"

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        if self.operator is None:
            raise ValueError("an Operator condition needs operator=fn(problem, x, jet)")
        return self.minus_value(problem, x, self.operator(problem, x, jet))


@dataclass
class Periodic(Condition):
    """u and its derivatives along ``coord`` up to ``order`` equal on the two box faces normal to ``coord``.

    A PDE of order m in ``coord`` needs order m - 1 (KdV's u_xxx: u, u_x and u_xx match).
    """

    coord: str = "x"
    order: int = 0
    weight: float = 1.0
    name: str = ""
    # each residual entry couples a point on the low face with its image on the high face
    coupled_points: ClassVar[int] = 2

    def default_name(self) -> str:
        return f"periodic_{self.coord}"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        from pinnkan.domains import Box

        if not isinstance(problem.domain, Box):
            raise ValueError(f"a periodic condition needs a Box domain, not {type(problem.domain).__name__}")
        a = problem.coords.index(self.coord)
        lo_pts = problem.domain.sample_boundary(n, seed, problem.coords, (f"{self.coord}-",)).points
        hi_pts = lo_pts.copy()
        hi_pts[:, a] = problem.domain.bounds()[1][a]
        return np.concatenate([lo_pts, hi_pts])

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        m = x.shape[0] // 2
        parts = [jet.value[:m] - jet.value[m:]]
        a = problem.coords.index(self.coord)
        for j in range(1, self.order + 1):
            d = jet.partial((a,) * j)
            parts.append(d[:m] - d[m:])
        return torch.cat(parts, dim=1)


RESERVED_NAMES = ("pde", "bc", "ic", "")


def condition_names(conditions: tuple[Condition, ...]) -> tuple[str, ...]:
    """Each condition's name: its own, or its default with _2, _3, ... where defaults repeat."""
    names: list[str] = []
    for c in conditions:
        base = c.name or c.default_name()
        name, i = base, 1
        while name in names and not c.name:
            i += 1
            name = f"{base}_{i}"
        names.append(name)
    return tuple(names)
