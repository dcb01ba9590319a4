"""Boundary and initial conditions: where a condition's points lie and its residual there.

A condition is a small dataclass: ``points`` samples its part of the domain's
boundary and ``residual`` says how far the surrogate's jet is from satisfying
it. ``faces`` names the boundary parts it holds on (a box's ``x-``, a polygon's
``edge2``, a ball's ``sphere``, a named shape of a set operation, ``all``, or
``space`` for every part but the time caps; one name or a tuple of them);
``where`` (points (m, D) -> (m,) bool) narrows them by a predicate. ``fields``
names the fields it sets (one name or a tuple; default every field): a wall's
``Dirichlet(fields=("u", "v"))`` leaves the pressure free. Values are a function
``value(problem, x)`` of the points x (n, D) giving (n,) or (n, k) for its k
fields, a constant, or (Dirichlet and initial conditions) left out for the
problem's exact solution. :class:`PointSet` holds at given points rather than on
a boundary part: a pressure gauge, or sparse measurements. Each condition
has a ``name`` (by default derived from its type, e.g. ``dirichlet``,
``neumann``, ``periodic_x``); its loss is logged as ``<name>_loss`` and summed
with the others of its ``kind`` into ``bc_loss`` or ``ic_loss``. A new kind of
condition is one subclass here (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from pinnkan.jet import Jet

# The problem a condition belongs to (a pinnkan.problem.Problem, read through its coords, fields, time, domain
# and exact()). Not imported: problem.py imports this module, and conditions sit below it.
ProblemLike = Any

ValueFn = Callable[[Any, Tensor], Tensor]
Value = ValueFn | float | None
BoundaryPredicate = Callable[[np.ndarray], np.ndarray]


def as_names(value: str | tuple[str, ...] | list[str] | None, what: str) -> tuple[str, ...] | None:
    """One name or a sequence of names as a tuple (None stays None): ``faces="all"`` means ``("all",)``."""
    if value is None or isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return value
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError(f"{what} must be a name or a tuple of names, not {value!r}")


def boundary_parts(problem: ProblemLike, spec: tuple[str, ...]) -> tuple[str, ...]:
    """Part names as the domain knows them; 'space' means every part not normal to the time axis."""
    out: list[str] = []
    for name in spec:
        if name == "space":
            if problem.time is None:
                out += list(problem.domain.parts(problem.coords))
            else:
                out += [p for p in problem.domain.parts(problem.coords) if p[:-1] != problem.time]
        else:
            out.append(name)
    return tuple(out)


def field_columns(problem: ProblemLike, fields: tuple[str, ...] | None) -> list[int] | None:
    """The columns of ``fields`` among the problem's fields (None: every field); a ValueError naming the
    known fields for an unknown one."""
    if fields is None:
        return None
    unknown = [f for f in fields if f not in problem.fields]
    if unknown:
        raise ValueError(f"no field {unknown[0]!r}; the problem's fields are {', '.join(problem.fields)}")
    return [problem.fields.index(f) for f in fields]


def select(t: Tensor, columns: list[int] | None) -> Tensor:
    """The columns of t (n, F) (every one for None)."""
    return t if columns is None or columns == list(range(t.shape[1])) else t[:, columns]


def evaluate_value(
    value: Value, problem: ProblemLike, x: Tensor, like: Tensor, columns: list[int] | None = None
) -> Tensor:
    """A condition's value at x (n, D), shaped as ``like`` ((n,) or (n, k)): a function's result, a
    constant, or (``None``) the problem's exact solution's ``columns`` (all for None)."""
    if value is None:
        out = select(problem.exact(x), columns)
    elif callable(value):
        out = value(problem, x)
    else:
        return torch.full_like(like, float(value))
    if not isinstance(out, Tensor):
        out = torch.as_tensor(out, dtype=like.dtype, device=like.device)
    if out.numel() == like.shape[0] and like.dim() == 2 and like.shape[1] > 1:
        out = out.reshape(-1, 1)  # one value per point for every field
    if out.numel() == like.numel():
        return out.reshape(like.shape)
    try:
        return out.expand_as(like)
    except RuntimeError:
        k = like.shape[1] if like.dim() == 2 else 1
        raise ValueError(
            f"its value gives shape {tuple(out.shape)} for {like.shape[0]} points; expected ({like.shape[0]},) "
            f"or ({like.shape[0]}, {k}), one column per field it sets"
        ) from None


def sample_faces(cond: Any, problem: ProblemLike, n: int, seed: int, faces: tuple[str, ...]) -> np.ndarray:
    """n points on the condition's boundary parts, narrowed by its ``where`` predicate."""
    parts = boundary_parts(problem, faces)
    return problem.domain.sample_boundary(n, seed, problem.coords, parts, getattr(cond, "where", None)).points


def nearest_rows(x: Tensor, points: np.ndarray, table: np.ndarray, dtype: torch.dtype) -> Tensor:
    """(n, k): for each x (n, D), the row of ``table`` (m, k) at the nearest of ``points`` (m, D) (their mean
    where several are as near). By comparison, not argmin-indexing: ``torch.func`` can batch it."""
    rows = torch.as_tensor(table, dtype=dtype, device=x.device)
    where = torch.as_tensor(points, dtype=x.dtype, device=x.device)
    gap = (x[:, None, :] - where[None]).square().sum(-1)  # (n, m): 0 at a point's own row
    onehot = (gap == gap.min(1, keepdim=True).values).to(dtype)
    return (onehot / onehot.sum(1, keepdim=True)) @ rows


def normal_derivative(problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
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

    def points(self, problem: ProblemLike, n: int, seed: int) -> np.ndarray:
        """Its n training points, (n, D) (or as many as the part has in 1-D)."""
        raise NotImplementedError

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        """(n,) or (n, E) residual at its points x from the jet there."""
        raise NotImplementedError


@dataclass
class OnBoundary(Condition):
    """A condition at points of named boundary parts (``faces``, narrowed by ``where``) with a target
    ``value`` for its ``fields``: what Dirichlet, Initial, Derivative, Neumann and Robin share."""

    faces: tuple[str, ...] = ("all",)
    value: Value = None
    kind: str = "bc"
    weight: float = 1.0
    name: str = ""
    where: BoundaryPredicate | None = None
    fields: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self.faces = as_names(self.faces, f"{type(self).__name__}(faces=...)") or ()
        self.fields = as_names(self.fields, f"{type(self).__name__}(fields=...)")

    def points(self, problem: ProblemLike, n: int, seed: int) -> np.ndarray:
        return sample_faces(self, problem, n, seed, self.faces)

    def columns(self, problem: ProblemLike) -> list[int] | None:
        """The columns of the fields it sets (None: every field)."""
        return field_columns(problem, self.fields)

    def minus_value(self, problem: ProblemLike, x: Tensor, lhs: Tensor) -> Tensor:
        """lhs (n, k) - value at x; a value left out is the exact solution where ``uses_exact``, else 0."""
        if self.value is None and not self.uses_exact:
            return lhs
        return lhs - evaluate_value(self.value, problem, x, lhs, self.columns(problem))


@dataclass
class Dirichlet(OnBoundary):
    """u = value on ``faces`` (default: the exact solution on the whole boundary)."""

    uses_exact: ClassVar[bool] = True

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        return self.minus_value(problem, x, select(jet.value, self.columns(problem)))


def start_faces(problem: ProblemLike) -> tuple[str, ...]:
    """The start-time face of a time-dependent problem, ``("t-",)``; a ValueError that names the line to add
    when the problem has no time coordinate."""
    if problem.time is None:
        raise ValueError(
            "an Initial condition needs the time coordinate: add `time = \"<name>\"` to the problem class "
            f"(coords {', '.join(problem.coords)}), or give it faces=..."
        )
    return (f"{problem.time}-",)


@dataclass
class Initial(Dirichlet):
    """u = value at the start time (default: the exact solution)."""

    faces: tuple[str, ...] = ()
    kind: str = "ic"

    def points(self, problem: ProblemLike, n: int, seed: int) -> np.ndarray:
        return sample_faces(self, problem, n, seed, self.faces or start_faces(problem))


@dataclass
class Derivative(OnBoundary):
    """d u / d coord = value (default 0) on ``faces`` (Neumann on a box face, initial rate on 't-')."""

    coord: str = "x"

    def default_name(self) -> str:
        return f"derivative_{self.coord}"

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        if self.coord not in problem.coords:
            raise ValueError(f"Derivative(coord={self.coord!r}): coords are {', '.join(problem.coords)}")
        lhs = jet.partial((problem.coords.index(self.coord),))
        return self.minus_value(problem, x, select(lhs, self.columns(problem)))


@dataclass
class Neumann(OnBoundary):
    """du/dn = value (default 0) on ``faces``, n the domain's outward unit normal."""

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        return self.minus_value(problem, x, select(normal_derivative(problem, x, jet), self.columns(problem)))


@dataclass
class Robin(OnBoundary):
    """a u + b du/dn = value (default 0) on ``faces``; a and b constants or functions ``(problem, x) -> (n,)``."""

    a: Value = 1.0
    b: Value = 1.0

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        columns = self.columns(problem)
        u, dn = select(jet.value, columns), select(normal_derivative(problem, x, jet), columns)
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

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        if self.operator is None:
            raise ValueError("an Operator condition needs operator=fn(problem, x, jet)")
        out = self.operator(problem, x, jet)
        if not isinstance(out, Tensor):
            raise ValueError(f"its operator returned {type(out).__name__}, not a torch tensor")
        return self.minus_value(problem, x, out if out.dim() == 2 else out.reshape(-1, 1))


@dataclass
class Periodic(Condition):
    """u and its derivatives along ``coord`` up to ``order`` equal on the two box faces normal to ``coord``.

    A PDE of order m in ``coord`` needs order m - 1 (KdV's u_xxx: u, u_x and u_xx match).
    """

    coord: str = "x"
    order: int | None = None
    weight: float = 1.0
    name: str = ""
    # each residual entry couples a point on the low face with its image on the high face
    coupled_points: ClassVar[int] = 2

    def default_name(self) -> str:
        return f"periodic_{self.coord}"

    def matched_order(self, problem: ProblemLike) -> int:
        """The derivatives along ``coord`` it matches: ``order``, or (None) one less than the PDE's order in
        ``coord``, which is what makes the problem well posed."""
        if self.order is not None:
            return self.order
        a = problem.coords.index(self.coord)
        keys = [k for k in problem.jet_layout().keys if k != "lap"]
        highest = max((k.count(a) for k in keys), default=0)
        if "lap" in problem.jet_layout().keys:
            highest = max(highest, 2)
        return max(highest - 1, 0)

    def points(self, problem: ProblemLike, n: int, seed: int) -> np.ndarray:
        from pinnkan.domains import Box, SpaceTime

        domain = problem.domain
        if not (isinstance(domain, Box) or isinstance(domain, SpaceTime) and isinstance(domain.space, Box)):
            raise ValueError(f"a periodic condition needs a Box domain, not {type(problem.domain).__name__}")
        if self.coord not in problem.coords:
            raise ValueError(f"Periodic(coord={self.coord!r}): coords are {', '.join(problem.coords)}")
        a = problem.coords.index(self.coord)
        lo_pts = problem.domain.sample_boundary(n, seed, problem.coords, (f"{self.coord}-",)).points
        hi_pts = lo_pts.copy()
        hi_pts[:, a] = problem.domain.bounds()[1][a]
        return np.concatenate([lo_pts, hi_pts])

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        m = x.shape[0] // 2
        parts = [jet.value[:m] - jet.value[m:]]
        a = problem.coords.index(self.coord)
        for j in range(1, self.matched_order(problem) + 1):
            d = jet.partial((a,) * j)
            parts.append(d[:m] - d[m:])
        return torch.cat(parts, dim=1)


@dataclass
class PointSet(Condition):
    """fields = value at given points ``at``: a gauge (``PointSet(at=[(0, 0)], value=0.0, fields="p")``) or
    sparse measurements.

    ``at`` is an array-like of points (m, D) or the path of a CSV (with a header) or NPZ file whose columns
    name every coordinate and, for ``value=None``, the fields it sets; ``value`` is a constant, a function
    ``value(problem, x)``, or None: the file's field columns where ``at`` is a file, else the problem's exact
    solution. Points within :data:`pinnkan.reference_data.BOUNDARY_TOLERANCE` of the domain (relative to its
    size) count as inside; farther ones are refused. Every point is used whatever the boundary point count.
    """

    at: Any = None
    value: Value = None
    fields: tuple[str, ...] | None = None
    weight: float = 1.0
    name: str = ""
    kind: str = "bc"
    uses_exact: ClassVar[bool] = True

    def __post_init__(self) -> None:
        self.fields = as_names(self.fields, "PointSet(fields=...)")
        if self.at is None:
            raise ValueError("PointSet needs at=: the points (m, D), or a CSV/NPZ file of them")
        self._table: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    def default_name(self) -> str:
        return "points"

    def _data(self, problem: ProblemLike) -> tuple[np.ndarray, np.ndarray | None]:
        """The points (m, D) and, from a file with field columns, their values (m, k), checked once."""
        key = id(problem)
        if key not in self._table:
            self._table[key] = _read_point_set(self, problem)
        return self._table[key]

    def columns(self, problem: ProblemLike) -> list[int] | None:
        return field_columns(problem, self.fields)

    def points(self, problem: ProblemLike, n: int, seed: int) -> np.ndarray:
        return self._data(problem)[0]

    def residual(self, problem: ProblemLike, x: Tensor, jet: Jet) -> Tensor:
        lhs = select(jet.value, self.columns(problem))
        pts, values = self._data(problem)
        if self.value is None and values is not None:
            return lhs - nearest_rows(x, pts, values, lhs.dtype)
        return lhs - evaluate_value(self.value, problem, x, lhs, self.columns(problem))


def _read_point_set(cond: PointSet, problem: ProblemLike) -> tuple[np.ndarray, np.ndarray | None]:
    from pathlib import Path

    from pinnkan.reference_data import read_columns, refuse_outside

    at = cond.at
    values = None
    if isinstance(at, str | Path):
        path = Path(at)
        if not path.is_absolute() and not path.exists():
            import sys

            module = sys.modules.get(type(problem).__module__)
            home = getattr(module, "__file__", None)
            if home:
                path = Path(home).parent / path
        if not path.is_file():
            raise ValueError(f"PointSet(at={str(at)!r}): no such file")
        cols = read_columns(path, f"PointSet(at={str(at)!r})")
        missing = [c for c in problem.coords if c not in cols]
        if missing:
            raise ValueError(f"PointSet(at={str(at)!r}): no column for coordinate(s) {', '.join(missing)}")
        pts = np.stack([cols[c] for c in problem.coords], axis=1)
        names = cond.fields or problem.fields
        if cond.value is None and all(f in cols for f in names):
            values = np.stack([cols[f] for f in names], axis=1)
        elif cond.value is None and not problem.has_exact:
            lacking = [f for f in names if f not in cols]
            raise ValueError(f"PointSet(at={str(at)!r}): no column for field(s) {', '.join(lacking)} and no value=")
    else:
        pts = np.asarray(at, dtype=float)
        if pts.ndim == 1:
            pts = pts.reshape(1, -1) if len(pts) == problem.dim else pts.reshape(-1, 1)
    if pts.ndim != 2 or pts.shape[1] != problem.dim or len(pts) == 0:
        raise ValueError(f"PointSet: at= must hold points of {problem.dim} coordinates; got shape {pts.shape}")
    if not np.isfinite(pts).all() or (values is not None and not np.isfinite(values).all()):
        raise ValueError("PointSet: the points and values must be finite")
    refuse_outside(problem, pts, "PointSet(at=...)", error=ValueError)
    return pts, values


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
