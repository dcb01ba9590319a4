"""Boundary and initial conditions: where a condition's points lie and its residual there.

A condition is a small dataclass: ``points`` samples its part of the domain's
boundary and ``residual`` says how far the surrogate's jet is from satisfying
it. Each condition has a ``name`` (by default derived from its type, e.g.
``dirichlet``, ``initial``, ``periodic_x``); its loss is logged as
``<name>_loss`` and summed with the others of its ``kind`` into ``bc_loss`` or
``ic_loss``. A new kind of condition is one subclass here (docs/architecture.md).
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


def boundary_parts(problem: Problem, spec: tuple[str, ...]) -> tuple[str, ...]:
    """Part names as the domain knows them; 'space' means every part not normal to the time axis."""
    out: list[str] = []
    for name in spec:
        if name == "space":
            out += [p for p in problem.domain.parts(problem.coords) if p[:-1] != problem.time]
        else:
            out.append(name)
    return tuple(out)


class Condition:
    """A constraint on a part of the boundary: sampled points and a residual there.

    ``kind`` is the loss group it feeds ("bc" or "ic"); ``order`` the derivative
    order its residual needs; ``weight`` multiplies its mean squared residual.
    ``coupled_points`` says how many points each residual entry depends on (its
    points come as that many equal blocks; 1: every entry is one point's), which
    the per-point Jacobians of Gauss–Newton training rely on.
    """

    kind: str = "bc"
    order: int = 0
    weight: float = 1.0
    name: str = ""
    coupled_points: ClassVar[int] = 1

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
class Dirichlet(Condition):
    """u = value(problem, x) on ``faces`` (default: the exact solution on the whole boundary)."""

    faces: tuple[str, ...] = ("all",)
    value: ValueFn | None = None
    kind: str = "bc"
    weight: float = 1.0
    name: str = ""

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return problem.domain.sample_boundary(n, seed, problem.coords, boundary_parts(problem, self.faces)).points

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        target = self.value(problem, x) if self.value is not None else problem.exact(x)
        return jet.value - target.reshape(jet.value.shape)


@dataclass
class Initial(Dirichlet):
    """u = value at the start time (default: the exact solution)."""

    faces: tuple[str, ...] = ()
    kind: str = "ic"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        faces = self.faces or (f"{problem.time}-",)
        return problem.domain.sample_boundary(n, seed, problem.coords, boundary_parts(problem, faces)).points


@dataclass
class Derivative(Condition):
    """d u / d coord = value on ``faces`` (Neumann on a box face, initial rate on 't-')."""

    coord: str = "x"
    faces: tuple[str, ...] = ("all",)
    value: ValueFn | None = None
    kind: str = "bc"
    order: int = 1
    weight: float = 1.0
    name: str = ""

    def default_name(self) -> str:
        return f"derivative_{self.coord}"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return problem.domain.sample_boundary(n, seed, problem.coords, boundary_parts(problem, self.faces)).points

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        a = problem.coords.index(self.coord)
        if self.value is None:
            return jet.grad[:, a]
        return jet.grad[:, a] - self.value(problem, x).reshape(jet.grad[:, a].shape)


@dataclass
class Periodic(Condition):
    """u (and, with order 1, du/dcoord) equal on the two box faces normal to ``coord``."""

    coord: str = "x"
    order: int = 0
    weight: float = 1.0
    name: str = ""
    # each residual entry couples a point on the low face with its image on the high face
    coupled_points: ClassVar[int] = 2

    def default_name(self) -> str:
        return f"periodic_{self.coord}"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        a = problem.coords.index(self.coord)
        lo_pts = problem.domain.sample_boundary(n, seed, problem.coords, (f"{self.coord}-",)).points
        hi_pts = lo_pts.copy()
        hi_pts[:, a] = problem.domain.bounds()[1][a]
        return np.concatenate([lo_pts, hi_pts])

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        m = x.shape[0] // 2
        parts = [jet.value[:m] - jet.value[m:]]
        if self.order >= 1:
            a = problem.coords.index(self.coord)
            parts.append(jet.grad[:m, a] - jet.grad[m:, a])
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
