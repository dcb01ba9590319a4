"""Optimizer phases: the abstract :class:`Phase`.

A phase owns one optimizer and advances the parameters by one step per call
of :meth:`Phase.step`. Adding an optimizer is one module with a Phase subclass
and one entry in ``pinnkan.training.PHASES`` (or ``register_phase`` from a script).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from torch import Tensor

from pinnkan.keys import Key
from pinnkan.training.loss import PINNLoss


class Phase(ABC):
    """One optimizer over the trainable parameters of ``loss.model``.

    ``settings`` is the resolved ``[train]`` section (``config_keys`` adds a phase's own
    keys to it). ``converges`` says whether a loss that stops changing means the phase
    is done (full-batch quasi-Newton),
    which the stall callback acts on; stochastic-looking methods such as Adam say no.
    """

    name: ClassVar[str] = ""
    converges: ClassVar[bool] = False
    # its own [train] settings (name -> Key), read by the configuration's schema
    config_keys: ClassVar[dict[str, Key]] = {}

    def __init__(self, loss: PINNLoss, settings: dict[str, Any]) -> None:
        self.loss, self.settings = loss, settings
        self.params = [p for p in loss.model.parameters() if p.requires_grad]
        self.last_terms: dict[str, float] = {}

    @classmethod
    def check(cls, model, settings: dict[str, Any], problem=None) -> None:
        """Raise ValueError (one line) if this phase cannot train ``model`` (on ``problem``, when given);
        called before training starts."""
        return None

    def closure(self) -> Callable[[], Tensor]:
        """Zero the gradients, evaluate the loss terms, backpropagate, remember the terms."""

        def evaluate() -> Tensor:
            for p in self.params:
                p.grad = None
            terms = self.loss.terms()
            terms["loss"].backward()
            self.loss.comm.sum_grads_(self.params)  # several processes: each holds its share's gradient
            self.last_terms = {k: float(v.detach()) for k, v in terms.items()}
            return terms["loss"]

        return evaluate

    @abstractmethod
    def step(self) -> dict[str, float]:
        """One optimizer step; returns the loss terms (floats) it evaluated last."""

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state (for checkpoints); phases with a torch optimizer ``self.opt`` need not override."""
        opt = getattr(self, "opt", None)
        return opt.state_dict() if opt is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        opt = getattr(self, "opt", None)
        if opt is not None and state:
            opt.load_state_dict(state)

    def scale_lr(self, factor: float) -> None:
        """Multiply the step size by ``factor`` (a retry after divergence takes smaller steps)."""
        opt = getattr(self, "opt", None)
        for group in opt.param_groups if opt is not None else ():
            group["lr"] *= factor
