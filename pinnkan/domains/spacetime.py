"""A spatial domain times a time interval, for time-dependent problems on any shape."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from pinnkan.domains.base import BoundarySample, Domain, as_tensor, pick_rows, sobol


@dataclass(frozen=True, eq=False)
class SpaceTime(Domain):
    """``space`` x [t0, t1], time the last coordinate. Its parts: the spatial parts (the lateral boundary,
    named as ``space`` names them) and the two time caps ``<time>-`` (start) and ``<time>+`` (end)."""

    space: Domain
    interval: tuple[float, float]

    def __post_init__(self) -> None:
        if not isinstance(self.space, Domain):
            raise ValueError("SpaceTime: space must be a domain")
        if len(self.interval) != 2 or not self.interval[1] > self.interval[0]:
            raise ValueError(f"SpaceTime: interval must be (t0, t1) with t1 > t0, got {self.interval}")

    @property
    def dim(self) -> int:
        return self.space.dim + 1

    @property
    def duration(self) -> float:
        return float(self.interval[1] - self.interval[0])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.space.bounds()
        return np.append(lo, self.interval[0]), np.append(hi, self.interval[1])

    def measure(self) -> float:
        return self.space.measure() * self.duration

    def _time_gap(self, t: Tensor) -> Tensor:
        """(N,) signed distance to the interval (negative inside)."""
        mid = 0.5 * (self.interval[0] + self.interval[1])
        return (t - mid).abs() - 0.5 * self.duration

    def signed_distance(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        return torch.maximum(self.space.signed_distance(x[:, :-1]), self._time_gap(x[:, -1]))

    def normal(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        n = x.shape[0]
        lateral = torch.cat([self.space.normal(x[:, :-1]), x.new_zeros(n, 1)], dim=1)
        e_t = x.new_zeros(n, self.dim)
        e_t[:, -1] = 1.0
        t0, t1 = self.interval
        lateral_gap = self.space.signed_distance(x[:, :-1]).abs()
        gaps = torch.stack([lateral_gap, (x[:, -1] - t0).abs(), (x[:, -1] - t1).abs()], 1)
        return pick_rows(torch.stack([lateral, -e_t, e_t], dim=1), gaps.argmin(1))

    def _caps(self, coords: Sequence[str]) -> tuple[str, str]:
        return f"{coords[-1]}-", f"{coords[-1]}+"

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        return self.space.parts(coords[:-1]) + self._caps(coords)

    def part_measure(self, coords: Sequence[str], part: str) -> float:
        if part in self._caps(coords):
            return self.space.measure()
        return self.space.part_measure(coords[:-1], part) * self.duration

    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        caps = self._caps(coords)
        if part in caps:
            end = caps.index(part)
            pts = self.space.sample_interior(n, seed)
            t = np.full((n, 1), self.interval[end], dtype=float)
            nrm = np.zeros((n, self.dim))
            nrm[:, -1] = 1.0 if end else -1.0
            return BoundarySample(np.concatenate([pts, t], axis=1), nrm)
        s = self.space.sample_part(coords[:-1], part, n, seed)
        t = self.interval[0] + sobol(n, 1, seed + 1)[:, :1] * self.duration
        return BoundarySample(np.concatenate([s.points, t], axis=1), np.concatenate([s.normals, np.zeros((n, 1))], 1))
