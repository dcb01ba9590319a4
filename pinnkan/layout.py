"""Which partial derivatives a jet carries, and how they pass through a univariate function.

A *partial* is a sorted tuple of coordinate axes: ``(0,)`` is d/dx_0, ``(0, 1)``
the mixed d^2/dx_0 dx_1, ``(0, 0, 0)`` the third derivative along x_0. The
string ``"lap"`` stands for the Laplacian, carried as one row when a residual
needs second derivatives only through it. A :class:`Layout` is the set a jet
carries besides the value: closed under taking sub-partials (every partial of
``(0, 0, 1)``'s chain-rule expansion, ``(0,)``, ``(1,)``, ``(0, 0)``,
``(0, 1)``, is there too) and in graded order, so that row 0 is the value and
row ``1 + layout.keys.index(key)`` holds ``key``.

Through a univariate function y = phi(h) every row follows from the rows of h
by the multivariate Faà di Bruno formula: for a partial alpha of order m,

    d^alpha y = sum over set partitions P of alpha's m positions of
                phi^(|P|)(h) * prod_{B in P} d^(alpha_B) h

(the Laplacian row: phi' lap h + phi'' |grad h|^2). :meth:`Layout.terms` lists,
for every row, its terms ``(row, j, coef, factors)``: ``coef * phi^(j) *
prod(rows[factors])`` with equal products merged. The first orders are the
familiar rules: y_a = phi' h_a, y_aa = phi'' h_a^2 + phi' h_aa, y_ab = phi''
h_a h_b + phi' h_ab, y_aaa = phi''' h_a^3 + 3 phi'' h_a h_aa + phi' h_aaa.
Linear maps act on every row alike; a constant moves the value row only.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

LAP = "lap"
MAX_ORDER = 4

Key = tuple[int, ...] | str


def key_order(key: Key) -> int:
    """The derivative order of a key (the Laplacian is second order)."""
    return 2 if key == LAP else len(key)


def _sort_key(key: Key) -> tuple:
    return (key_order(key), 1 if key == LAP else 0, () if key == LAP else key)


def key_name(key: Key, coords: Sequence[str]) -> str:
    """A key as the residual writes it: ``xxy`` (single-letter coordinates), ``x1,x2`` otherwise, ``lap``."""
    if key == LAP:
        return LAP
    names = [coords[a] for a in key]
    return ("" if all(len(c) == 1 for c in coords) else ",").join(names)


def parse_key(spec: str | Sequence[str], coords: Sequence[str]) -> Key:
    """A key from coordinate names: ``("x", "x", "y")``, ``"xxy"`` (single-letter coordinates), ``"x1,x2"``,
    or ``"lap"``. Raises ValueError naming the unknown coordinate."""
    if isinstance(spec, str):
        if spec == LAP:
            return LAP
        if "," in spec:
            names = [s.strip() for s in spec.split(",")]
        elif spec in coords:
            names = [spec]
        elif all(len(c) == 1 for c in coords):
            names = list(spec)
        else:
            names = [spec]
    else:
        names = list(spec)
    if not names:
        raise ValueError("a derivative needs at least one coordinate")
    axes = []
    for name in names:
        if name not in coords:
            raise ValueError(f"no coordinate {name!r} in a derivative; coords: {', '.join(coords)}")
        axes.append(list(coords).index(name))
    if len(axes) > MAX_ORDER:
        raise ValueError(f"derivatives of order {len(axes)} are not supported (at most {MAX_ORDER})")
    return tuple(sorted(axes))


def _sub_partials(key: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Every non-empty sub-multiset of a partial, itself included."""
    counts: dict[int, int] = {}
    for a in key:
        counts[a] = counts.get(a, 0) + 1
    axes = sorted(counts)

    def rec(i: int, acc: list[int]) -> Iterator[tuple[int, ...]]:
        if i == len(axes):
            if acc:
                yield tuple(acc)
            return
        for c in range(counts[axes[i]] + 1):
            yield from rec(i + 1, acc + [axes[i]] * c)

    yield from rec(0, [])


def _set_partitions(items: list[int]) -> Iterator[list[list[int]]]:
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _set_partitions(rest):
        yield [[first], *part]
        for i in range(len(part)):
            yield part[:i] + [[first, *part[i]]] + part[i + 1 :]


@dataclass(frozen=True)
class Term:
    """``coef * phi^(j)(h) * prod(rows[factors])`` contributes to row ``row`` (rows numbered with 0 the value)."""

    row: int
    j: int
    coef: float
    factors: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """The partials (``keys``, graded order, closed) a jet carries after its value, in ``dim`` coordinates."""

    dim: int
    keys: tuple[Key, ...] = ()

    # --- construction -------------------------------------------------------
    @classmethod
    def of(cls, dim: int, wanted: Iterable[Key]) -> Layout:
        """The smallest layout holding ``wanted``: every key with all its sub-partials, sorted."""
        keys: set[Key] = set()
        for key in wanted:
            if key == LAP:
                keys.add(LAP)
                keys.update((a,) for a in range(dim))
                continue
            key = tuple(sorted(key))
            if not key:
                continue
            if any(not 0 <= a < dim for a in key):
                raise ValueError(f"axis out of range in {key} for {dim} coordinates")
            if len(key) > MAX_ORDER:
                raise ValueError(f"derivatives of order {len(key)} are not supported (at most {MAX_ORDER})")
            keys.update(_sub_partials(key))
        return cls(dim, tuple(sorted(keys, key=_sort_key)))

    @classmethod
    def standard(cls, dim: int, order: int, laplacian: bool = False) -> Layout:
        """Value and, up to ``order`` (0, 1, 2), the gradient and the Hessian diagonal (or the Laplacian)."""
        if order not in (0, 1, 2):
            raise ValueError(f"a standard layout has order 0, 1 or 2, not {order}")
        wanted: list[Key] = [(a,) for a in range(dim)] if order >= 1 else []
        if order == 2:
            wanted += [LAP] if laplacian else [(a, a) for a in range(dim)]
        return cls.of(dim, wanted)

    def __or__(self, other: Layout) -> Layout:
        if other.dim != self.dim:
            raise ValueError("layouts of different dimensions")
        return Layout.of(self.dim, self.keys + other.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    # --- what it holds --------------------------------------------------------
    @property
    def size(self) -> int:
        """S, the number of rows: the value and one per key."""
        return 1 + len(self.keys)

    @property
    def order(self) -> int:
        """The highest derivative order it holds (0: the value only)."""
        return max((key_order(k) for k in self.keys), default=0)

    @property
    def laplacian(self) -> bool:
        """Whether it carries a Laplacian row."""
        return LAP in self.keys

    def row(self, key: Key) -> int:
        """Row index of ``key`` (0 is the value)."""
        return 1 + self.keys.index(key)

    def has_gradient(self) -> bool:
        return all((a,) in self.keys for a in range(self.dim))

    def standard_form(self) -> tuple[int, bool] | None:
        """(order, laplacian) when this is a :meth:`standard` layout, else None."""
        for order, lap in ((0, False), (1, False), (2, False), (2, True)):
            if self == Layout.standard(self.dim, order, lap):
                return order, lap
        return None

    def standard_cover(self) -> Layout | None:
        """The smallest standard layout holding every key of this one (order 2 with the Hessian diagonal for
        u_x, u_t, u_xx, say), or None when none does (a mixed or third partial)."""
        if self.standard_form() is not None:
            return self
        for order, lap in ((1, False), (2, True), (2, False)):
            cover = Layout.standard(self.dim, order, lap)
            if set(self.keys) <= set(cover.keys):
                return cover
        return None

    def describe(self, coords: Sequence[str]) -> str:
        """``u, u_x, u_t, u_xxx``: the rows by name."""
        return ", ".join(["u"] + [f"u_{key_name(k, coords)}" for k in self.keys])

    # --- the chain rule ----------------------------------------------------------
    def terms(self) -> tuple[Term, ...]:
        """Faà di Bruno terms of every derivative row (see the module docstring); the value row has none."""
        return _terms(self)

    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The (row, j) pairs any term touches, with (0, 0) (the value: phi itself) first."""
        return _pairs(self)

    def arrays(self) -> dict[str, np.ndarray]:
        """The terms as flat arrays for compiled kernels: ``pair`` (T,) index into :meth:`pairs`, ``coef``
        (T,), ``nfac`` (T,), ``fac`` (T, MAX_ORDER) rows (padded with 0); ``pair_row``, ``pair_j`` (P,)."""
        return _arrays(self)


@functools.cache
def _terms(layout: Layout) -> tuple[Term, ...]:
    out: list[Term] = []
    for key in layout.keys:
        row = layout.row(key)
        merged: dict[tuple[int, tuple[int, ...]], float] = {}
        if key == LAP:
            merged[(1, (row,))] = 1.0
            for a in range(layout.dim):
                g = layout.row((a,))
                merged[(2, (g, g))] = merged.get((2, (g, g)), 0.0) + 1.0
        else:
            for part in _set_partitions(list(range(len(key)))):
                blocks = sorted(layout.row(tuple(sorted(key[q] for q in block))) for block in part)
                idx = (len(part), tuple(blocks))
                merged[idx] = merged.get(idx, 0.0) + 1.0
        for (j, factors), coef in sorted(merged.items()):
            out.append(Term(row, j, coef, factors))
    return tuple(out)


@functools.cache
def _pairs(layout: Layout) -> tuple[tuple[int, int], ...]:
    seen = [(0, 0)]
    for t in _terms(layout):
        if (t.row, t.j) not in seen:
            seen.append((t.row, t.j))
    return tuple(seen)


@functools.cache
def _arrays(layout: Layout) -> dict[str, np.ndarray]:
    terms, pairs = _terms(layout), _pairs(layout)
    n = len(terms)
    fac = np.zeros((max(n, 1), MAX_ORDER), dtype=np.int64)
    for i, t in enumerate(terms):
        fac[i, : len(t.factors)] = t.factors
    arrays = {
        "pair": np.array([pairs.index((t.row, t.j)) for t in terms], dtype=np.int64),
        "coef": np.array([t.coef for t in terms], dtype=np.float64),
        "nfac": np.array([len(t.factors) for t in terms], dtype=np.int64),
        "fac": fac,
        "pair_row": np.array([p[0] for p in pairs], dtype=np.int64),
        "pair_j": np.array([p[1] for p in pairs], dtype=np.int64),
    }
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


def as_layout(spec: int | Layout, dim: int, laplacian: bool = False) -> Layout:
    """A layout from a :class:`Layout` or a standard order (0, 1, 2; ``laplacian`` for order 2)."""
    if isinstance(spec, Layout):
        if spec.dim != dim:
            raise ValueError(f"a layout of {spec.dim} coordinates for points of {dim}")
        return spec
    return Layout.standard(dim, int(spec), laplacian and int(spec) >= 2)
