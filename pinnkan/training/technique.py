"""Adaptive training techniques: callbacks switched on by ``[train]`` settings.

A :class:`Technique` is a :class:`~pinnkan.training.callback.Callback` that owns
its ``[train]`` keys (``config_keys``, read by the configuration's schema like a
phase's), says from the resolved settings whether it is on (``from_config``) and
refuses a problem it cannot apply to in one line (``check``: causal weights
without a time coordinate), never silently doing nothing. Adding one is one
module and one entry in ``pinnkan.training.TECHNIQUES``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pinnkan.keys import Key
from pinnkan.training.callback import Callback


class Technique(Callback):
    """Base class of the adaptive-training callbacks (see the module docstring)."""

    name: ClassVar[str] = ""
    config_keys: ClassVar[dict[str, Key]] = {}
    # [train] settings that switch it on (what the docs and the tests use)
    switch: ClassVar[dict[str, Any]] = {}
    # whether it acts through the loss's point weights or term scales (most do; budgeted training grows things)
    weights_loss: ClassVar[bool] = True
    # whether it reduces what it reads over the processes of a data-parallel run (pinnkan.distributed);
    # one that does not is refused there rather than run on one process's share
    distributed: ClassVar[bool] = False

    @classmethod
    def from_config(cls, cfg: dict[str, dict[str, Any]]) -> Technique | None:
        """The callback the resolved configuration asks for, or None when it is off."""
        raise NotImplementedError

    @classmethod
    def check(cls, problem, cfg: dict[str, dict[str, Any]]) -> None:
        """Raise ValueError (one line) when the technique is on but cannot apply to ``problem``."""
        return None
