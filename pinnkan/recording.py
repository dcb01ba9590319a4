"""Finding the partials a residual uses by evaluating it once on a recording jet.

:class:`RecordingJet` answers every question a :class:`~pinnkan.jet.Jet` answers
(``val``, ``d(...)``, ``dd``, ``lap``, ``grad``, ``jet["v"]``, ...) with
made-up values in [0.5, 1.5] (positive and away from zero, so a residual that
divides by u or takes its logarithm still evaluates) and remembers which
partials were asked for. :func:`record_layout` turns that into the
:class:`~pinnkan.layout.Layout` the engines then compute — exactly those
partials and the lower ones their chain rule needs, nothing else. A residual
whose derivatives depend on the values (a Python branch on the data) should
declare them instead (``Problem.derivatives``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from pinnkan.jet import JetError
from pinnkan.layout import LAP, Key, Layout, parse_key


class RecordingJet:
    """A stand-in jet at n points that records the keys asked for into the shared set ``asked``."""

    def __init__(
        self,
        n: int,
        coords: tuple[str, ...],
        fields: tuple[str, ...],
        like: Tensor,
        asked: set[Key] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        self.n, self.coords, self.fields, self._like = n, tuple(coords), tuple(fields), like
        self.asked: set[Key] = set() if asked is None else asked
        self._gen = generator if generator is not None else torch.Generator().manual_seed(0)

    def _values(self, *shape: int) -> Tensor:
        out = torch.rand(*shape, generator=self._gen, dtype=torch.float64) + 0.5
        return out.to(dtype=self._like.dtype, device=self._like.device)

    def __getitem__(self, field: str) -> RecordingJet:
        if field not in self.fields:
            raise JetError(f"jet has no field {field!r}; fields: {', '.join(self.fields)}")
        return RecordingJet(self.n, self.coords, (field,), self._like, self.asked, self._gen)

    def _single(self) -> None:
        if len(self.fields) != 1:
            raise JetError(f"jet has fields {self.fields}: select one with jet[name]")

    # --- every field at once --------------------------------------------------
    @property
    def value(self) -> Tensor:
        return self._values(self.n, len(self.fields))

    @property
    def grad(self) -> Tensor:
        self.asked.update((a,) for a in range(len(self.coords)))
        return self._values(self.n, len(self.coords), len(self.fields))

    @property
    def diag(self) -> Tensor:
        self.asked.update((a, a) for a in range(len(self.coords)))
        return self._values(self.n, len(self.coords), len(self.fields))

    @property
    def laplacian(self) -> Tensor:
        self.asked.add(LAP)
        return self._values(self.n, len(self.fields))

    def partial(self, key: Key) -> Tensor:
        self.asked.add(key)
        return self._values(self.n, len(self.fields))

    # --- one field ------------------------------------------------------------
    @property
    def val(self) -> Tensor:
        self._single()
        return self._values(self.n)

    def d(self, *coords: str) -> Tensor:
        if not coords:
            return self.val
        self._single()
        for c in coords:
            if c not in self.coords:
                raise JetError(f"jet has no coordinate {c!r}; coords: {', '.join(self.coords)}")
        try:
            self.asked.add(parse_key(tuple(coords), self.coords))
        except ValueError as exc:
            raise JetError(str(exc)) from None
        return self._values(self.n)

    def dd(self, coord: str) -> Tensor:
        return self.d(coord, coord)

    def lap(self, coords: Sequence[str] | None = None) -> Tensor:
        if coords is None or set(coords) == set(self.coords):
            self._single()
            self.asked.add(LAP)
            return self._values(self.n)
        return sum(self.dd(c) for c in coords)


def record_layout(
    fn: Callable[[Tensor, RecordingJet], object], x: Tensor, coords: tuple[str, ...], fields: tuple[str, ...]
) -> Layout:
    """The layout of the partials ``fn(x, jet)`` reads, from one evaluation at the points x (n, D)."""
    jet = RecordingJet(x.shape[0], coords, fields, x)
    fn(x, jet)
    return Layout.of(len(coords), jet.asked)


def declared_layout(declared: Sequence[str | Sequence[str]], coords: tuple[str, ...]) -> Layout:
    """The layout of a problem's declared ``derivatives`` (``"t"``, ``"xxx"``, ``("x", "y")``, ``"lap"``)."""
    try:
        keys = [parse_key(spec, coords) for spec in declared]
    except ValueError as exc:
        raise ValueError(f"derivatives: {exc}") from None
    return Layout.of(len(coords), keys)
