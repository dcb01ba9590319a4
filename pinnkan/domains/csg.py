"""Constructive geometry: union, intersection and difference of any two domains.

The signed distance of a set operation is the min / max of its operands' (exact
in sign, a bound in size). Its boundary is sampled from its operands' boundaries
(a subtracted shape's normals turned round), keeping a point where a small step
against its normal is inside the result and a small step along it is not: so
faces two operands share inside the result (the seam of an L made of two boxes)
drop out, and each part keeps the share of its length/area that survives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import Tensor

from pinnkan.domains.base import (
    MAX_DRAW,
    SET_OPERATIONS,
    BoundarySample,
    Domain,
    as_tensor,
    pick_rows,
    split_by_measure,
)

# candidate boundary points per part drawn to estimate how much of it survives
MEASURE_DRAW = 2**14


@dataclass(frozen=True, eq=False)
class SetOperation(Domain):
    """Two domains of one dimension combined; subclasses say how (``_combine``, ``_keeps``, ``flip_second``)."""

    first: Domain
    second: Domain
    flip_second = False  # the second operand's normals point into the result (difference)
    can_be_empty = True  # a union of two shapes never is

    def __post_init__(self) -> None:
        if not (isinstance(self.first, Domain) and isinstance(self.second, Domain)):
            raise ValueError(f"{type(self).__name__}: both operands must be domains")
        if self.first.dim != self.second.dim:
            raise ValueError(
                f"{type(self).__name__}: operands of dimension {self.first.dim} and {self.second.dim} differ"
            )
        if self.can_be_empty and self.fill == 0.0:
            raise ValueError(
                f"{type(self).__name__}: the result is empty (no point of 2^16 over its bounding box is inside)"
            )

    @property
    def dim(self) -> int:
        return self.first.dim

    def _combine(self, a: Tensor, b: Tensor) -> Tensor:
        raise NotImplementedError

    def signed_distance(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        return self._combine(self.first.signed_distance(x), self.second.signed_distance(x))

    def normal(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        # the operand whose boundary is nearest owns the point
        d = torch.stack([self.first.signed_distance(x).abs(), self.second.signed_distance(x).abs()], dim=1)
        second = -self.second.normal(x) if self.flip_second else self.second.normal(x)
        return pick_rows(torch.stack([self.first.normal(x), second], dim=1), d.argmin(1))

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.first.parts(coords) + self.second.parts(coords)))

    def _raw(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        """n candidates of a part from the operands that have it, split by their own measure."""
        owners = [
            (op, flip)
            for op, flip in ((self.first, False), (self.second, self.flip_second))
            if part in op.parts(coords)
        ]
        if not owners:
            raise ValueError(f"no boundary part {part!r}; this domain has {', '.join(self.parts(coords))}")
        measure = np.array([op.part_measure(coords, part) for op, _ in owners])
        counts = split_by_measure(n, measure)
        out = []
        for i, ((op, flip), m) in enumerate(zip(owners, counts)):
            if m > 0:
                s = op.sample_part(coords, part, int(m), seed + 104729 * i)
                out.append(BoundarySample(s.points, -s.normals if flip else s.normals))
        return BoundarySample.join(out, self.dim)

    def _on_boundary(self, s: BoundarySample) -> np.ndarray:
        eps = 1e-7 * self.scale
        return self.contains(s.points - eps * s.normals) & ~self.contains(s.points + eps * s.normals)

    @cached_property
    def _measures(self) -> dict[tuple[tuple[str, ...], str], float]:
        return {}

    def part_measure(self, coords: Sequence[str], part: str) -> float:
        key = (tuple(coords), part)
        if key not in self._measures:
            raw = self._raw(coords, part, MEASURE_DRAW, 0)
            total = sum(op.part_measure(coords, part) for op in (self.first, self.second) if part in op.parts(coords))
            self._measures[key] = total * float(self._on_boundary(raw).mean())
        return self._measures[key]

    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        draw = max(2 * n, 64)
        while True:
            raw = self._raw(coords, part, draw, seed)
            keep = np.flatnonzero(self._on_boundary(raw))
            if len(keep) >= n:
                # a seeded random subset keeps each piece's share of the part
                return raw.take(np.sort(np.random.default_rng(seed).permutation(keep)[:n]))
            if draw >= MAX_DRAW:
                raise ValueError(f"boundary part {part!r}: only {len(keep)} of {draw} candidate points survive")
            draw = min(4 * draw, MAX_DRAW)


@dataclass(frozen=True, eq=False)
class Union(SetOperation):
    """Points in either operand (``a | b``)."""

    can_be_empty = False

    def _combine(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.minimum(a, b)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (a, b), (c, d) = self.first.bounds(), self.second.bounds()
        return np.minimum(a, c), np.maximum(b, d)


@dataclass(frozen=True, eq=False)
class Intersection(SetOperation):
    """Points in both operands (``a & b``)."""

    def _combine(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        (a, b), (c, d) = self.first.bounds(), self.second.bounds()
        lo, hi = np.maximum(a, c), np.minimum(b, d)
        if np.any(hi <= lo):
            raise ValueError("Intersection: the operands' bounding boxes do not overlap; the result is empty")
        return lo, hi


@dataclass(frozen=True, eq=False)
class Difference(SetOperation):
    """Points of the first operand not inside the second (``a - b``); the second's boundary faces inward."""

    flip_second = True

    def _combine(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, -b)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return self.first.bounds()


SET_OPERATIONS.update(union=Union, intersection=Intersection, difference=Difference)
