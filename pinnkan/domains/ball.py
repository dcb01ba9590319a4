"""The ball (a disk in 2-D, a sphere's inside in 3-D and up)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import ndtri
from torch import Tensor

from pinnkan.domains.base import BoundarySample, Domain, as_tensor, sobol


@dataclass(frozen=True)
class Ball(Domain):
    """{x : |x - center| <= radius} in D >= 2 dimensions; its boundary is one part, ``name`` (default
    "sphere"). A 1-D ball is an interval: use :class:`Box`."""

    center: tuple[float, ...]
    radius: float
    name: str = "sphere"

    def __post_init__(self) -> None:
        if len(self.center) < 2:
            raise ValueError(f"Ball: center {self.center} needs at least 2 coordinates (an interval is a Box)")
        if not self.radius > 0:
            raise ValueError(f"Ball: radius must be positive, got {self.radius}")
        if not self.name:
            raise ValueError("Ball: name must not be empty")

    @property
    def dim(self) -> int:
        return len(self.center)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        c = np.asarray(self.center, dtype=float)
        return c - self.radius, c + self.radius

    def measure(self) -> float:
        d = self.dim
        return math.pi ** (d / 2) / math.gamma(d / 2 + 1) * self.radius**d

    def signed_distance(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        c = torch.as_tensor(self.center, dtype=x.dtype, device=x.device)
        return (x - c).square().sum(1).sqrt() - self.radius

    def normal(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        c = torch.as_tensor(self.center, dtype=x.dtype, device=x.device)
        r = x - c
        return r / r.square().sum(1, keepdim=True).sqrt().clamp(min=1e-300)

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        return (self.name,)

    def part_measure(self, coords: Sequence[str], part: str) -> float:
        self.parts(coords)
        return self.dim * self.measure() / self.radius  # surface = d V / r

    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        if part != self.name:
            raise ValueError(f"no boundary part {part!r}; this ball has {self.name}")
        if self.dim == 2:  # equal arc lengths from a 1-D Sobol sequence
            angle = 2 * math.pi * sobol(n, 1, seed)[:, 0]
            direction = np.stack([np.cos(angle), np.sin(angle)], axis=1)
        else:  # normal deviates by the inverse CDF of Sobol points, projected on the sphere
            g = ndtri(np.clip(sobol(n, self.dim, seed), 1e-12, 1 - 1e-12))
            direction = g / np.linalg.norm(g, axis=1, keepdims=True)
        return BoundarySample(np.asarray(self.center) + self.radius * direction, direction)
