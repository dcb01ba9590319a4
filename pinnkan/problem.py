"""How a PDE problem is declared: box domain, residual, conditions, solution.

A problem is one class (DESIGN.md §3)::

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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.stats import qmc
from torch import Tensor

from pinnkan.jet import Jet


def sobol(n: int, dim: int, seed: int) -> np.ndarray:
    """n scrambled Sobol points in [0, 1)^dim, (n, dim)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning for n not a power of two
        return qmc.Sobol(dim, scramble=True, seed=seed).random(n)


@dataclass(frozen=True)
class Box:
    """Axis-aligned box [lo, hi] in D dimensions (time is one more dimension)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    @property
    def dim(self) -> int:
        return len(self.lo)

    def sample(self, n: int, seed: int) -> np.ndarray:
        """n Sobol points in the box, (n, D)."""
        lo, hi = np.asarray(self.lo), np.asarray(self.hi)
        return lo + sobol(n, self.dim, seed) * (hi - lo)

    def sample_faces(self, faces: list[tuple[int, int]], n: int, seed: int) -> np.ndarray:
        """n points on the given faces (axis, 0 for lo / 1 for hi), split by face measure, (n, D)."""
        lo, hi = np.asarray(self.lo, float), np.asarray(self.hi, float)
        if self.dim == 1:
            return np.array([[lo[0] if side == 0 else hi[0]] for _, side in faces])
        measure = np.array([np.prod(np.delete(hi - lo, axis)) for axis, _ in faces])
        counts = np.floor(n * measure / measure.sum()).astype(int)
        counts[: n - counts.sum()] += 1
        parts = []
        for i, ((axis, side), m) in enumerate(zip(faces, counts)):
            if m == 0:
                continue
            pts = lo + sobol(int(m), self.dim, seed + 7919 * (i + 1)) * (hi - lo)
            pts[:, axis] = lo[axis] if side == 0 else hi[axis]
            parts.append(pts)
        return np.concatenate(parts)


def _faces(problem: Problem, spec: tuple[str, ...]) -> list[tuple[int, int]]:
    """Face names like 'x-', 'x+' (or 'all', 'space' for every non-time face) -> (axis, side)."""
    out: list[tuple[int, int]] = []
    for name in spec:
        if name in ("all", "space"):
            out += [(a, s) for a, c in enumerate(problem.coords) for s in (0, 1) if name == "all" or c != problem.time]
            continue
        coord, side = name[:-1], name[-1]
        if coord not in problem.coords or side not in "-+":
            raise ValueError(
                f"{problem.name}: bad face {name!r}; use '<coord>-' or '<coord>+' with coords {problem.coords}"
            )
        out.append((problem.coords.index(coord), 0 if side == "-" else 1))
    return out


class Condition:
    """A constraint on a part of the boundary: sampled points and a residual there.

    ``kind`` is the loss term it feeds ("bc" or "ic"); ``order`` the derivative
    order its residual needs.
    """

    kind: str = "bc"
    order: int = 0
    weight: float = 1.0

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        raise NotImplementedError

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        raise NotImplementedError


ValueFn = Callable[[Any, Tensor], Tensor]


@dataclass
class Dirichlet(Condition):
    """u = value(problem, x) on ``faces`` (default: the exact solution on the whole boundary)."""

    faces: tuple[str, ...] = ("all",)
    value: ValueFn | None = None
    kind: str = "bc"

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return problem.domain.sample_faces(_faces(problem, self.faces), n, seed)

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
        return problem.domain.sample_faces(_faces(problem, faces), n, seed)


@dataclass
class Derivative(Condition):
    """d u / d coord = value on ``faces`` (Neumann on a space face, initial rate on 't-')."""

    coord: str = "x"
    faces: tuple[str, ...] = ("all",)
    value: ValueFn | None = None
    kind: str = "bc"
    order: int = 1

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        return problem.domain.sample_faces(_faces(problem, self.faces), n, seed)

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        a = problem.coords.index(self.coord)
        if self.value is None:
            return jet.grad[:, a]
        return jet.grad[:, a] - self.value(problem, x).reshape(jet.grad[:, a].shape)


@dataclass
class Periodic(Condition):
    """u (and, with order 1, du/dcoord) equal on the two faces normal to ``coord``."""

    coord: str = "x"
    order: int = 0

    def points(self, problem: Problem, n: int, seed: int) -> np.ndarray:
        a = problem.coords.index(self.coord)
        lo_pts = problem.domain.sample_faces([(a, 0)], n, seed)
        hi_pts = lo_pts.copy()
        hi_pts[:, a] = problem.domain.hi[a]
        return np.concatenate([lo_pts, hi_pts])

    def residual(self, problem: Problem, x: Tensor, jet: Jet) -> Tensor:
        m = x.shape[0] // 2
        parts = [jet.value[:m] - jet.value[m:]]
        if self.order >= 1:
            a = problem.coords.index(self.coord)
            parts.append(jet.grad[:m, a] - jet.grad[m:, a])
        return torch.cat(parts, dim=1)


class Problem:
    """Base class of every PDE problem; subclasses fill in the class attributes."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    coords: ClassVar[tuple[str, ...]] = ()
    domain: ClassVar[Box]
    fields: ClassVar[tuple[str, ...]] = ("u",)
    time: ClassVar[str | None] = None
    conditions: ClassVar[tuple[Condition, ...]] = ()
    params: ClassVar[dict[str, float]] = {}
    # derivatives the residual needs: order 2 = value, gradient, Hessian diagonal
    order: ClassVar[int] = 2
    # "laplacian" when the residual uses second derivatives only through jet.lap()
    # over all coords: jets then carry one Laplacian row instead of D diagonal rows
    hessian: ClassVar[str] = "diag"
    mixed_partials: ClassVar[bool] = False
    # default settings: any of n_interior, n_boundary, alpha, width, grids, steps, ...
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: float) -> None:
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
        values, shape (len(axis_0), ..., len(axis_{D-1}), F). Cache it (pinnkan.cache).
        """
        raise NotImplementedError

    def reference_test_set(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Test points (M, D), values (M, F) and gradients (M, D, F) from :meth:`reference`.

        Gradients are second-order finite differences on the reference grid.
        """
        axes, values = self.reference()
        mesh = np.meshgrid(*axes, indexing="ij")
        x = np.stack([m.ravel() for m in mesh], axis=1)
        f = values.shape[-1]
        grads = np.gradient(values, *axes, axis=tuple(range(len(axes))), edge_order=2)
        grad = np.stack([g.reshape(-1, f) for g in grads], axis=1)
        return x, values.reshape(-1, f), grad

    @property
    def has_exact(self) -> bool:
        return type(self).exact is not Problem.exact

    # --- derived ---------------------------------------------------------------
    @property
    def dim(self) -> int:
        return len(self.coords)

    def param_values(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.params}

    def interior(self, n: int, seed: int) -> np.ndarray:
        """n interior collocation points, (n, D)."""
        return self.domain.sample(n, seed)

    def test_points(self) -> np.ndarray:
        """The fixed test set T: a 101 x 101 grid in 2-D, else 2^14 Sobol points (seed 0)."""
        if self.dim == 2:
            axes = [np.linspace(a, b, 101) for a, b in zip(self.domain.lo, self.domain.hi)]
            g = np.meshgrid(*axes, indexing="ij")
            return np.stack([c.ravel() for c in g], axis=1)
        if self.dim == 1:
            return np.linspace(self.domain.lo[0], self.domain.hi[0], 1001)[:, None]
        return self.domain.sample(2**14, seed=0)


HESSIANS = ("diag", "laplacian")


def validate(cls: type) -> list[str]:
    """What a problem class lacks to be usable; [] when complete."""
    missing = []
    if not (isinstance(cls, type) and issubclass(cls, Problem)):
        return ["it is not a subclass of pinnkan.Problem"]
    for attr in ("name", "description", "coords"):
        if not getattr(cls, attr, None):
            missing.append(attr)
    dom = getattr(cls, "domain", None)
    if not isinstance(dom, Box):
        missing.append("domain (a Box)")
    elif cls.coords and dom.dim != len(cls.coords):
        missing.append(f"domain of dimension {len(cls.coords)} (coords {cls.coords})")
    if cls.residual is Problem.residual:
        missing.append("residual(self, x, jet)")
    if not cls.conditions:
        missing.append("conditions")
    if cls.exact is Problem.exact and cls.reference is Problem.reference:
        missing.append("exact(self, x) or reference(self)")
    if getattr(cls, "hessian", "diag") not in HESSIANS:
        missing.append(f"hessian one of {', '.join(HESSIANS)} (not {cls.hessian!r})")
    if cls.time is not None and cls.time not in cls.coords:
        missing.append(f"time coordinate {cls.time!r} in coords")
    return missing
