"""The axis-aligned box, the shape every built-in problem before the set operations lived on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from pinnkan.domains.base import BoundarySample, Domain, as_tensor, pick_rows, sobol, unit_cube


@dataclass(frozen=True)
class Box(Domain):
    """The box [lo, hi] in D dimensions; its faces are named ``<coord>-`` and ``<coord>+`` (``<name>.<coord>-``
    when ``name`` is given, so that one box of a set operation can be addressed as a whole)."""

    lo: tuple[float, ...]
    hi: tuple[float, ...]
    name: str = ""

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

    def _limits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        lo, hi = self.bounds()
        return (torch.as_tensor(v, dtype=x.dtype, device=x.device) for v in (lo, hi))

    def signed_distance(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        lo, hi = self._limits(x)
        q = torch.maximum(lo - x, x - hi)  # per axis: > 0 outside that slab
        outside = q.clamp(min=0).square().sum(1).sqrt()
        return outside + q.max(1).values.clamp(max=0)

    def normal(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        lo, hi = self._limits(x)
        gaps = torch.cat([(x - lo).abs(), (hi - x).abs()], dim=1)  # (N, 2D): distance to each face
        eye = torch.eye(self.dim, dtype=x.dtype, device=x.device)
        options = torch.cat([-eye, eye]).expand(x.shape[0], -1, -1)
        return pick_rows(options, gaps.argmin(1))

    def sample_interior(self, n: int, seed: int, method: str = "sobol") -> np.ndarray:
        lo, hi = self.bounds()
        return lo + unit_cube(n, self.dim, seed, method) * (hi - lo)

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        prefix = f"{self.name}." if self.name else ""
        return tuple(f"{prefix}{c}{side}" for c in coords for side in "-+")

    def face(self, coords: Sequence[str], part: str) -> tuple[int, int]:
        """A face's (axis, side), side 0 for lo and 1 for hi."""
        names = self.parts(coords)
        if part not in names:
            raise ValueError(f"no boundary part {part!r}; this box has {', '.join(names)}")
        i = names.index(part)
        return i // 2, i % 2

    def part_measure(self, coords: Sequence[str], part: str) -> float:
        axis, _ = self.face(coords, part)
        lo, hi = self.bounds()
        return float(np.prod(np.delete(hi - lo, axis))) if self.dim > 1 else 1.0

    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        axis, side = self.face(coords, part)
        lo, hi = self.bounds()
        pts = lo + sobol(n, self.dim, seed) * (hi - lo)
        pts[:, axis] = hi[axis] if side else lo[axis]
        nrm = np.zeros_like(pts)
        nrm[:, axis] = 1.0 if side else -1.0
        return BoundarySample(pts, nrm)
