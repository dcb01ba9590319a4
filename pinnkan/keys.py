"""Configuration keys: the one type every registry's settings are declared with.

A bottom module: surrogates, optimizer phases and training techniques declare their own ``[model]`` and
``[train]`` keys with :class:`Key` here, and :mod:`pinnkan.config` assembles the schema from the registries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, allowed values and a check.

    ``choices`` is a tuple, or a function returning one when the names live in a
    registry that can grow (surrogates, derivative engines).
    """

    kind: str  # "int", "float", "str", "bool", "ints"
    default: Any = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    check: Callable[[Any], str | None] | None = None
    help: str = ""

    def allowed(self) -> tuple[str, ...]:
        return tuple(self.choices()) if callable(self.choices) else self.choices


def positive(v: Any) -> str | None:
    if isinstance(v, list):  # an empty list is allowed: no grid ladder (a width that short is refused by resolve)
        return None if all(x > 0 for x in v) else "must be a list of positive integers"
    return None if v > 0 else "must be positive"


def non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"
