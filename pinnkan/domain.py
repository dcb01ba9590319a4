"""Where a problem lives: the abstract :class:`Domain` and its box implementation.

Everything outside this module sees a domain only through :class:`Domain`:
interior samples, boundary samples by named part with outward unit normals,
``contains``, the bounding box and the measure. New shapes are one subclass
(see docs/architecture.md). Points are NumPy arrays of shape (N, D) in the
problem's coordinate order; time, where a problem has it, is one more axis.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

SAMPLINGS = ("sobol", "uniform")


def sobol(n: int, dim: int, seed: int) -> np.ndarray:
    """n scrambled Sobol points in [0, 1)^dim, (n, dim)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balance warning for n not a power of two
        return qmc.Sobol(dim, scramble=True, seed=seed).random(n)


def unit_cube(n: int, dim: int, seed: int, method: str = "sobol") -> np.ndarray:
    """n points in [0, 1)^dim by ``method`` (one of SAMPLINGS), (n, dim)."""
    if method == "sobol":
        return sobol(n, dim, seed)
    if method == "uniform":
        return np.random.default_rng(seed).random((n, dim))
    raise ValueError(f"unknown sampling {method!r}; known: {', '.join(SAMPLINGS)}")


@dataclass(frozen=True)
class BoundarySample:
    """Points on a boundary, (n, D), and the outward unit normals there, (n, D)."""

    points: np.ndarray
    normals: np.ndarray


class Domain(ABC):
    """A closed region of R^D.

    Boundary parts have names; ``parts(coords)`` lists them for a problem whose
    axes are called ``coords`` (a box names its faces after the coordinates).
    """

    @property
    @abstractmethod
    def dim(self) -> int:
        """D, the number of coordinates."""

    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box (lo, hi), each (D,)."""

    @abstractmethod
    def contains(self, x: np.ndarray) -> np.ndarray:
        """(N,) bool: which points x (N, D) lie in the closed domain."""

    @abstractmethod
    def measure(self) -> float:
        """Length, area or volume."""

    @abstractmethod
    def sample_interior(self, n: int, seed: int, method: str = "sobol") -> np.ndarray:
        """Exactly n points inside, (n, D)."""

    @abstractmethod
    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        """Names of the boundary parts."""

    @abstractmethod
    def sample_boundary(self, n: int, seed: int, coords: Sequence[str], parts: Sequence[str] = ()) -> BoundarySample:
        """n points on the named parts (all of the boundary when ``parts`` is empty), split by measure."""

    def box_grid(self, per_axis: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Every point (M, D) of a tensor grid of ``per_axis`` points per axis over the bounding box, inside
        or not (the first axis slowest), and the axes."""
        lo, hi = self.bounds()
        axes = [np.linspace(a, b, per_axis) for a, b in zip(lo, hi)]
        mesh = np.meshgrid(*axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=1), axes

    def grid(self, per_axis: int) -> np.ndarray:
        """A tensor grid of ``per_axis`` points per axis over the bounding box, kept where inside, (M, D)."""
        pts, _ = self.box_grid(per_axis)
        return pts[self.contains(pts)]


@dataclass(frozen=True)
class Box(Domain):
    """The axis-aligned box [lo, hi] in D dimensions; its faces are named ``<coord>-`` and ``<coord>+``."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.lo) != len(self.hi) or not self.lo:
            raise ValueError(f"Box: lo {self.lo} and hi {self.hi} must be non-empty and of one length")
        if any(b <= a for a, b in zip(self.lo, self.hi)):
            raise ValueError(f"Box: every hi must exceed its lo (lo {self.lo}, hi {self.hi})")

    @property
    def dim(self) -> int:
        return len(self.lo)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.lo, dtype=float), np.asarray(self.hi, dtype=float)

    def contains(self, x: np.ndarray) -> np.ndarray:
        lo, hi = self.bounds()
        return np.all((x >= lo) & (x <= hi), axis=1)

    def measure(self) -> float:
        lo, hi = self.bounds()
        return float(np.prod(hi - lo))

    def sample_interior(self, n: int, seed: int, method: str = "sobol") -> np.ndarray:
        lo, hi = self.bounds()
        return lo + unit_cube(n, self.dim, seed, method) * (hi - lo)

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        return tuple(f"{c}{side}" for c in coords for side in "-+")

    def faces(self, coords: Sequence[str], parts: Sequence[str]) -> list[tuple[int, int]]:
        """Face names (or 'all') -> (axis, side) with side 0 for lo and 1 for hi."""
        out: list[tuple[int, int]] = []
        for name in parts or ("all",):
            if name == "all":
                out += [(a, s) for a in range(self.dim) for s in (0, 1)]
                continue
            coord, side = name[:-1], name[-1]
            if coord not in coords or side not in "-+":
                raise ValueError(f"bad face {name!r}; use '<coord>-' or '<coord>+' with coords {tuple(coords)}")
            out.append((list(coords).index(coord), 0 if side == "-" else 1))
        return out

    def sample_boundary(self, n: int, seed: int, coords: Sequence[str], parts: Sequence[str] = ()) -> BoundarySample:
        """n points on the faces, split by face measure (one point per face in 1-D), with their normals."""
        faces = self.faces(coords, parts)
        lo, hi = self.bounds()
        if self.dim == 1:
            counts = np.ones(len(faces), dtype=int)
        else:
            measure = np.array([np.prod(np.delete(hi - lo, axis)) for axis, _ in faces])
            counts = np.floor(n * measure / measure.sum()).astype(int)
            counts[: n - counts.sum()] += 1
        points, normals = [], []
        for i, ((axis, side), m) in enumerate(zip(faces, counts)):
            if m == 0:
                continue
            pts = lo + sobol(int(m), self.dim, seed + 7919 * (i + 1)) * (hi - lo)
            pts[:, axis] = hi[axis] if side else lo[axis]
            nrm = np.zeros_like(pts)
            nrm[:, axis] = 1.0 if side else -1.0
            points.append(pts)
            normals.append(nrm)
        return BoundarySample(np.concatenate(points), np.concatenate(normals))
