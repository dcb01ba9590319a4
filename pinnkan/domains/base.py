"""The abstract :class:`Domain` every shape implements, and the sampling they share.

A domain is a closed region of R^D known through its signed distance (negative
inside) and the outward unit normal of its nearest boundary piece, both torch
expressions so that a condition can use them inside training (Gauss–Newton's
per-point Jacobians included). Its boundary comes in named parts; a part is sampled
in proportion to its length/area. Interior points come by rejection from the
bounding box for any shape that does not know better. Points are NumPy arrays of
shape (N, D) in the problem's coordinate order; time, where a problem has it, is
one more axis (:class:`pinnkan.domains.SpaceTime`).
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from scipy.stats import qmc
from torch import Tensor

SAMPLINGS = ("sobol", "uniform")
# rejection gives up when fewer than this fraction of the bounding box is inside
MIN_FILL = 1e-4
# points drawn at most in one rejection (interior, boundary predicate, CSG boundary)
MAX_DRAW = 2**22

BoundaryPredicate = Callable[[np.ndarray], np.ndarray]


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


def as_tensor(x: np.ndarray | Tensor) -> Tensor:
    """x as a float64 tensor (a tensor passes through with its own dtype and device)."""
    return x if isinstance(x, Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))


def split_by_measure(n: int, measure: np.ndarray) -> np.ndarray:
    """n split over pieces in proportion to ``measure`` (K,): floors, the remainder one each to the first."""
    counts = np.floor(n * measure / max(float(measure.sum()), 1e-300)).astype(int)
    counts[: n - counts.sum()] += 1
    return counts


def pick_rows(options: Tensor, index: Tensor) -> Tensor:
    """options (N, K, D), index (N,) long -> options[i, index[i]] (N, D), by a one-hot product (vmap-safe)."""
    # a comparison, not F.one_hot: that checks its input's range, which vmap cannot trace
    onehot = (index[:, None] == torch.arange(options.shape[1], device=index.device)).to(options.dtype)
    return (onehot.unsqueeze(-1) * options).sum(1)


@dataclass(frozen=True)
class BoundarySample:
    """Points on a boundary, (n, D), and the outward unit normals there, (n, D)."""

    points: np.ndarray
    normals: np.ndarray

    @staticmethod
    def join(samples: Sequence[BoundarySample], dim: int) -> BoundarySample:
        kept = [s for s in samples if len(s.points)]
        if not kept:
            return BoundarySample(np.zeros((0, dim)), np.zeros((0, dim)))
        return BoundarySample(np.concatenate([s.points for s in kept]), np.concatenate([s.normals for s in kept]))

    def take(self, rows: np.ndarray) -> BoundarySample:
        return BoundarySample(self.points[rows], self.normals[rows])


class Domain(ABC):
    """A closed region of R^D (D >= 1).

    Subclasses give ``dim``, ``bounds``, ``signed_distance``, ``normal``, ``parts``,
    ``part_measure`` and ``sample_part``; sampling, containment, grids and the set
    operators ``|`` (union), ``&`` (intersection), ``-`` (difference) come from here.
    ``parts(coords)`` names the boundary parts for a problem whose axes are called
    ``coords``; a part spec selects the parts equal to it or starting with it and a
    dot (a shape named "hole" owns "hole" or "hole.x-", ...), "all" selects all.
    """

    @property
    @abstractmethod
    def dim(self) -> int:
        """D, the number of coordinates."""

    @abstractmethod
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box (lo, hi), each (D,)."""

    @abstractmethod
    def signed_distance(self, x: Tensor) -> Tensor:
        """(N,) distance to the boundary, negative inside, at x (N, D); for set operations a bound with the
        right sign."""

    @abstractmethod
    def normal(self, x: Tensor) -> Tensor:
        """(N, D) outward unit normal of the boundary piece nearest to each point x (N, D)."""

    @abstractmethod
    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        """Names of the boundary parts, in a fixed order."""

    @abstractmethod
    def part_measure(self, coords: Sequence[str], part: str) -> float:
        """Length/area of one part (1.0 for a point of a 1-D domain's boundary)."""

    @abstractmethod
    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        """Exactly n points of one part with their outward normals."""

    # --- derived ---------------------------------------------------------------
    @property
    def scale(self) -> float:
        """The longest side of the bounding box: the length tolerances are relative to."""
        lo, hi = self.bounds()
        return float(np.max(hi - lo))

    def contains(self, x: np.ndarray) -> np.ndarray:
        """(N,) bool: which points x (N, D) lie in the closed domain (to 1e-9 of its size)."""
        x = np.asarray(x, dtype=np.float64)
        return self.signed_distance(as_tensor(x)).numpy() <= 1e-9 * self.scale

    @cached_property
    def fill(self) -> float:
        """The fraction of the bounding box inside (2^16 Sobol points; exact shapes override ``measure``)."""
        lo, hi = self.bounds()
        return float(self.contains(lo + sobol(2**16, self.dim, 12345) * (hi - lo)).mean())

    def measure(self) -> float:
        """Length, area or volume (estimated from ``fill`` unless the shape knows it)."""
        lo, hi = self.bounds()
        return self.fill * float(np.prod(hi - lo))

    def sample_interior(self, n: int, seed: int, method: str = "sobol") -> np.ndarray:
        """Exactly n points inside, (n, D): the first n of the bounding box's points that fall inside."""
        lo, hi = self.bounds()
        fill = self.measure() / float(np.prod(hi - lo))
        if fill < MIN_FILL:
            raise ValueError(
                f"the domain fills {fill:.1e} of its bounding box: too thin for rejection sampling "
                f"(at least {MIN_FILL:g} needed)"
            )
        draw = int(math.ceil(1.2 * n / fill)) + 64
        while True:
            pts = lo + unit_cube(draw, self.dim, seed, method) * (hi - lo)
            inside = pts[self.contains(pts)]
            if len(inside) >= n:
                return inside[:n]
            if draw >= MAX_DRAW:
                raise ValueError(f"rejection sampling found {len(inside)} of {n} interior points in {draw} draws")
            draw = min(2 * draw, MAX_DRAW)

    def select_parts(self, coords: Sequence[str], spec: Sequence[str]) -> tuple[str, ...]:
        """The part names a spec selects (empty spec or "all": every part); a ValueError for an unknown name.

        A name that selects several parts ("all", a shape's name) keeps those with something left on the
        boundary (a subtracted step's face on the outer wall has nothing); a part named exactly is kept as is.
        """
        known = self.parts(coords)
        out: list[str] = []
        for entry in spec or ("all",):
            hits = known if entry == "all" else [p for p in known if p == entry or p.startswith(entry + ".")]
            if not hits:
                raise ValueError(f"no boundary part {entry!r}; this domain has {', '.join(known)} (or 'all')")
            if hits != [entry] and self.dim > 1:
                left = [p for p in hits if self.part_measure(coords, p) > 0]
                hits = left or hits
            out += [p for p in hits if p not in out]
        return tuple(out)

    def sample_boundary(
        self,
        n: int,
        seed: int,
        coords: Sequence[str],
        parts: Sequence[str] = (),
        where: BoundaryPredicate | None = None,
    ) -> BoundarySample:
        """n points on the named parts (all of the boundary when ``parts`` is empty), split by measure (one point
        per part of a 1-D domain), with their outward normals; ``where`` (points (m, D) -> (m,) bool) keeps
        only the boundary points it accepts."""
        names = self.select_parts(coords, parts)
        if where is None:
            return self._sample_parts(names, n, seed, coords)
        draw = max(2 * n, 64)
        while True:
            got = self._sample_parts(names, draw, seed, coords)
            keep = np.flatnonzero(np.asarray(where(got.points), dtype=bool).reshape(-1))
            if len(keep) >= n or self.dim == 1:
                rows = np.sort(np.random.default_rng(seed).permutation(keep)[:n])
                if len(rows) == 0:
                    raise ValueError(f"the boundary predicate accepts no point of {', '.join(names)}")
                return got.take(rows)
            if draw >= MAX_DRAW:
                raise ValueError(f"the boundary predicate accepts {len(keep)} of {draw} points of {', '.join(names)}")
            draw = min(4 * draw, MAX_DRAW)

    def _sample_parts(self, names: Sequence[str], n: int, seed: int, coords: Sequence[str]) -> BoundarySample:
        if self.dim == 1:
            counts = np.ones(len(names), dtype=int)
        else:
            measure = np.array([self.part_measure(coords, p) for p in names])
            if measure.sum() <= 0:
                raise ValueError(f"boundary part(s) {', '.join(names)} have nothing left in this domain")
            counts = split_by_measure(n, measure)
        samples = [
            self.sample_part(coords, name, int(m), seed + 7919 * (i + 1))
            for i, (name, m) in enumerate(zip(names, counts))
            if m > 0
        ]
        return BoundarySample.join(samples, self.dim)

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

    # --- constructive geometry -----------------------------------------------------
    def __or__(self, other: Domain) -> Domain:
        return SET_OPERATIONS["union"](self, other)

    def __and__(self, other: Domain) -> Domain:
        return SET_OPERATIONS["intersection"](self, other)

    def __sub__(self, other: Domain) -> Domain:
        return SET_OPERATIONS["difference"](self, other)


# the set operations behind |, & and -, by name: csg.py (a layer above) registers its classes here on import
SET_OPERATIONS: dict[str, Callable[[Domain, Domain], Domain]] = {}
