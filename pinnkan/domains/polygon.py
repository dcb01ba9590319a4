"""A simple polygon in the plane, given by its vertices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from pinnkan.domains.base import BoundarySample, Domain, as_tensor, pick_rows, sobol


def _segments_cross(p: np.ndarray, q: np.ndarray, r: np.ndarray, s: np.ndarray) -> bool:
    """Whether the closed segments pq and rs meet."""

    def orient(a, b, c):
        return np.sign((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))

    def on(a, b, c):  # c on segment ab, given collinear
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    o1, o2, o3, o4 = orient(p, q, r), orient(p, q, s), orient(r, s, p), orient(r, s, q)
    if o1 != o2 and o3 != o4:
        return True
    return any(o == 0 and on(a, b, c) for o, a, b, c in ((o1, p, q, r), (o2, p, q, s), (o3, r, s, p), (o4, r, s, q)))


@dataclass(frozen=True)
class Polygon(Domain):
    """The closed region inside a simple polygon with ``vertices`` ((x, y) pairs, either orientation, the
    last joined to the first). Edge i runs from vertex i to vertex i+1 and is the part ``edge<i>``
    (``<name>.<i>`` when ``name`` is given), or the i-th of ``edge_names`` (equal names make one part)."""

    vertices: tuple[tuple[float, float], ...]
    name: str = ""
    edge_names: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=float)
        if v.ndim != 2 or v.shape[1] != 2 or len(v) < 3:
            raise ValueError(f"Polygon: needs at least 3 vertices (x, y); got shape {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("Polygon: vertices must be finite")
        k = len(v)
        nxt = np.roll(v, -1, axis=0)
        if np.any(np.linalg.norm(nxt - v, axis=1) == 0):
            raise ValueError("Polygon: two consecutive vertices coincide")
        area = 0.5 * float(np.sum(v[:, 0] * nxt[:, 1] - nxt[:, 0] * v[:, 1]))
        if abs(area) <= 1e-12 * float(np.ptp(v, axis=0).max()) ** 2:
            raise ValueError("Polygon: the vertices enclose no area")
        for i in range(k):
            for j in range(i + 1, k):
                if j == i + 1 or (i == 0 and j == k - 1):
                    continue  # neighbours share a vertex
                if _segments_cross(v[i], nxt[i], v[j], nxt[j]):
                    raise ValueError(f"Polygon: edges {i} and {j} cross; the polygon must be simple")
        if self.edge_names and len(self.edge_names) != k:
            raise ValueError(f"Polygon: {len(self.edge_names)} edge_names for {k} edges")
        object.__setattr__(self, "_area", abs(area))
        object.__setattr__(self, "_clockwise", area < 0)
        # edges in the polygon's own order; outward normals from the counter-clockwise orientation
        d = nxt - v
        sign = 1.0 if area > 0 else -1.0
        normals = sign * np.stack([d[:, 1], -d[:, 0]], axis=1) / np.linalg.norm(d, axis=1, keepdims=True)
        object.__setattr__(self, "_normals", normals)

    def corner_singularities(self, kind: str = "dirichlet", terms: int = 2) -> tuple:
        """A :class:`~pinnkan.enrichment.CornerSingularity` at every re-entrant vertex (interior angle > pi),
        for enriching a surrogate (``Problem.enrichment``); empty for a convex polygon."""
        from pinnkan.enrichment import CornerSingularity

        v = self._v()[::-1] if self._clockwise else self._v()  # counter-clockwise: the interior on the left
        out = []
        for i in range(len(v)):
            prev, nxt = v[i - 1] - v[i], v[(i + 1) % len(v)] - v[i]
            start = float(np.arctan2(nxt[1], nxt[0]))
            angle = float((np.arctan2(prev[1], prev[0]) - start) % (2 * np.pi))
            if angle > np.pi + 1e-9:
                out.append(CornerSingularity((float(v[i][0]), float(v[i][1])), start, angle, kind, terms))
        return tuple(out)

    @property
    def dim(self) -> int:
        return 2

    def _v(self) -> np.ndarray:
        return np.asarray(self.vertices, dtype=float)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        v = self._v()
        return v.min(0), v.max(0)

    def measure(self) -> float:
        return self._area

    def _edge_distances(self, x: Tensor) -> Tensor:
        """(N, K) distance from each point to each edge (segment)."""
        v = torch.as_tensor(self._v(), dtype=x.dtype, device=x.device)
        a, b = v, torch.roll(v, -1, dims=0)
        ab = b - a  # (K, 2)
        ap = x[:, None, :] - a[None]  # (N, K, 2)
        t = ((ap * ab).sum(-1) / ab.square().sum(-1)).clamp(0, 1)
        return (ap - t[..., None] * ab).square().sum(-1).sqrt()

    def signed_distance(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        v = torch.as_tensor(self._v(), dtype=x.dtype, device=x.device)
        a, b = v, torch.roll(v, -1, dims=0)
        px, py = x[:, :1], x[:, 1:2]
        straddles = (a[:, 1] > py) != (b[:, 1] > py)  # (N, K): edge crosses the horizontal through the point
        slope = (b[:, 0] - a[:, 0]) / torch.where(b[:, 1] == a[:, 1], torch.ones_like(a[:, 1]), b[:, 1] - a[:, 1])
        crossing = straddles & (px < a[:, 0] + (py - a[:, 1]) * slope)
        inside = crossing.sum(1) % 2 == 1
        dist = self._edge_distances(x).min(1).values
        return torch.where(inside, -dist, dist)

    def normal(self, x: Tensor) -> Tensor:
        x = as_tensor(x)
        normals = torch.as_tensor(self._normals, dtype=x.dtype, device=x.device).expand(x.shape[0], -1, -1)
        return pick_rows(normals, self._edge_distances(x).argmin(1))

    def _edge_labels(self) -> tuple[str, ...]:
        if self.edge_names:
            return tuple(self.edge_names)
        k = len(self.vertices)
        return tuple(f"{self.name}.{i}" if self.name else f"edge{i}" for i in range(k))

    def parts(self, coords: Sequence[str]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self._edge_labels()))

    def _edges_of(self, part: str) -> list[int]:
        edges = [i for i, label in enumerate(self._edge_labels()) if label == part]
        if not edges:
            raise ValueError(f"no boundary part {part!r}; this polygon has {', '.join(self.parts(()))}")
        return edges

    def _lengths(self) -> np.ndarray:
        v = self._v()
        return np.linalg.norm(np.roll(v, -1, axis=0) - v, axis=1)

    def part_measure(self, coords: Sequence[str], part: str) -> float:
        return float(self._lengths()[self._edges_of(part)].sum())

    def sample_part(self, coords: Sequence[str], part: str, n: int, seed: int) -> BoundarySample:
        edges = self._edges_of(part)
        lengths = self._lengths()[edges]
        # one 1-D Sobol sequence laid along the part's edges end to end: equal spacing by arc length
        s = sobol(n, 1, seed)[:, 0] * lengths.sum()
        ends = np.cumsum(lengths)
        which = np.minimum(np.searchsorted(ends, s, side="right"), len(edges) - 1)
        t = (s - (ends[which] - lengths[which])) / lengths[which]
        v = self._v()
        a, b = v[edges][which], np.roll(v, -1, axis=0)[edges][which]
        return BoundarySample(a + t[:, None] * (b - a), self._normals[edges][which])
