"""Problem parameters learned from data: inverse problems.

A parameter declared unknown — in the problem class (``unknowns = {"nu":
Unknown(initial=0.05, bounds=(1e-4, 1.0))}``) or from the command line
(``--set problem.unknowns=nu``) — becomes a trainable scalar. The surrogate
carries it (submodule ``unknowns``), so every optimizer phase, Gauss–Newton's
Jacobian, checkpoints and saved models include it without knowing about it.
While the loss is evaluated, ``problem.nu`` reads the current estimate, a
0-dimensional tensor the residual differentiates through
(:meth:`UnknownParameters.bound`); everywhere else — references, synthetic
observations, reports — it is the configured *true* value.

Scale: a parameter whose range is positive is learned as its logarithm (a
viscosity of 0.003 and one of 3 are equally far from their neighbours); bounds
``(lo, hi)`` squash the raw value through a sigmoid so the estimate never
leaves them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class Unknown:
    """An unknown parameter: ``initial`` guess (None: from the configuration, see :func:`specs_for`),
    optional ``bounds`` (lo, hi), and ``log`` scale (None: log where the range is positive)."""

    initial: float | None = None
    bounds: tuple[float, float] | None = None
    log: bool | None = None

    def resolved(self, initial: float) -> Unknown:
        """This spec with the initial guess and the scale filled in; ValueError for inconsistent ones."""
        init = float(self.initial if self.initial is not None else initial)
        lo, hi = self.bounds if self.bounds is not None else (None, None)
        if self.bounds is not None and not (lo < hi):
            raise ValueError(f"bounds {self.bounds} must be (lo, hi) with lo < hi")
        if self.bounds is not None and not (lo < init < hi):
            raise ValueError(f"initial guess {init} must lie strictly inside the bounds {self.bounds}")
        positive = lo > 0 if lo is not None else init > 0
        log = positive if self.log is None else self.log
        if log and not positive:
            raise ValueError("a log-scale unknown needs a positive range (lower bound, or initial guess, > 0)")
        return Unknown(init, self.bounds, log)


class UnknownParameters(nn.Module):
    """Trainable scalars, one raw parameter each (``raw_<name>``), mapped to their value by the spec's scale."""

    def __init__(self, specs: dict[str, Unknown]) -> None:
        super().__init__()
        self.specs = {name: spec for name, spec in specs.items()}
        for name, spec in self.specs.items():
            self.register_parameter(f"raw_{name}", nn.Parameter(torch.tensor(self._inverse(spec, spec.initial))))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self.specs)

    @staticmethod
    def _inverse(spec: Unknown, value: float) -> float:
        v = math.log(value) if spec.log else value
        if spec.bounds is None:
            return v
        lo, hi = (math.log(b) if spec.log else b for b in spec.bounds)
        s = (v - lo) / (hi - lo)
        return math.log(s / (1 - s))

    def value(self, name: str) -> Tensor:
        """The current estimate of ``name``, a 0-dim tensor differentiable in its raw parameter."""
        spec, raw = self.specs[name], getattr(self, f"raw_{name}")
        v = raw
        if spec.bounds is not None:
            lo, hi = (math.log(b) if spec.log else b for b in spec.bounds)
            v = lo + (hi - lo) * torch.sigmoid(raw)
        return torch.exp(v) if spec.log else v

    def values(self) -> dict[str, float]:
        """Every estimate as a float."""
        with torch.no_grad():
            return {name: float(self.value(name)) for name in self.names}

    @contextlib.contextmanager
    def bound(self, problem) -> Iterator[None]:
        """Inside the block ``problem.<name>`` is the current estimate (a tensor) and ``problem.configured(name)``
        the configured value; afterwards ``problem.<name>`` is the configured value again."""
        saved = {name: problem.__dict__[name] for name in self.names}
        outer = problem.__dict__.get("_configured_values")
        try:
            problem.__dict__["_configured_values"] = {**(outer or {}), **saved}
            for name in self.names:
                problem.__dict__[name] = self.value(name)
            yield
        finally:
            problem.__dict__.update(saved)
            if outer is None:
                problem.__dict__.pop("_configured_values", None)
            else:
                problem.__dict__["_configured_values"] = outer

    def spec(self) -> dict[str, dict[str, Any]]:
        """JSON-able specs, to rebuild the module (:func:`from_spec`)."""
        return {n: {"initial": s.initial, "bounds": list(s.bounds) if s.bounds else None, "log": s.log}
                for n, s in self.specs.items()}


def from_spec(spec: dict[str, dict[str, Any]]) -> UnknownParameters:
    return UnknownParameters(
        {n: Unknown(s["initial"], tuple(s["bounds"]) if s["bounds"] else None, s["log"]) for n, s in spec.items()}
    )


def parse_request(request: str | list[str] | None) -> tuple[list[str], dict[str, float]]:
    """``"nu=0.05,k"`` (or a list of such entries) -> (["nu", "k"], {"nu": 0.05}); ValueError if malformed."""
    if request is None or request == "":
        return [], {}
    items = request if isinstance(request, list) else str(request).split(",")
    names: list[str] = []
    guesses: dict[str, float] = {}
    for item in items:
        name, _, guess = str(item).strip().partition("=")
        name = name.strip()
        if not name.isidentifier():
            raise ValueError(f"problem.unknowns: {item!r} is not a parameter name (or name=initial guess)")
        names.append(name)
        if guess.strip():
            try:
                guesses[name] = float(guess)
            except ValueError:
                raise ValueError(f"problem.unknowns: the initial guess in {item!r} is not a number") from None
    return names, guesses


def specs_for(
    problem, names: list[str], initial: dict[str, float] | None = None, values: dict[str, float] | None = None
) -> dict[str, Unknown]:
    """The unknowns of ``problem``: its declared ``unknowns`` plus ``names`` (from the configuration), each
    resolved with its initial guess (``initial[name]``, else the declaration's, else the parameter's value in
    ``values``). ValueError naming a parameter the problem does not have."""
    declared = dict(getattr(problem, "unknowns", {}) or {})
    out: dict[str, Unknown] = {}
    for name in list(declared) + [n for n in names if n not in declared]:
        if name not in problem.params:
            known = ", ".join(sorted(problem.params)) or "none"
            raise ValueError(f"problem {problem.name!r} has no parameter {name!r} to learn; parameters: {known}")
        if not isinstance(problem.params[name], float):
            raise ValueError(f"problem {problem.name!r}: parameter {name!r} is not a real number; it cannot be learned")
        guess = (values or problem.params)[name]
        spec = declared.get(name, Unknown())
        if initial and name in initial:
            spec = Unknown(initial[name], spec.bounds, spec.log)
        try:
            out[name] = spec.resolved(guess)
        except ValueError as exc:
            raise ValueError(f"unknown {name!r}: {exc}") from None
    return out


@contextlib.contextmanager
def estimates(problem, model) -> Iterator[None]:
    """``problem``'s unknown parameters read the model's current estimates inside the block (a no-op without)."""
    unknowns = getattr(model, "unknowns", None)
    if unknowns is None:
        yield
        return
    with unknowns.bound(problem):
        yield
