"""A training plan: decisions, each with the signal that caused it, and who overrode which."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# where a decided key's final value came from
SOURCES = ("plan", "problem", "given")


@dataclass
class Decision:
    """One key of the plan (a key a problem's ``defaults`` may hold), its value and why."""

    key: str
    value: Any
    reason: str
    source: str = "plan"  # "plan", "problem" (its defaults won) or "given" (configuration or command line)


@dataclass
class Plan:
    """The decisions of the planning rules, in rule order, over the values already given.

    ``given``: keys set before planning (the command line, a configuration file), in the vocabulary of a
    problem's ``defaults``; ``problem_defaults``: the problem's own ``defaults``. Both win over the rules; the
    plan records that instead of dropping the rule's decision.
    """

    signals: Any
    given: dict[str, Any] = field(default_factory=dict)
    problem_defaults: dict[str, Any] = field(default_factory=dict)
    decisions: list[Decision] = field(default_factory=list)

    def decide(self, key: str, value: Any, reason: str) -> None:
        """Record a rule's decision; a given value or a problem default wins and is recorded as such."""
        if key in self.given:
            self.decisions.append(Decision(key, self.given[key], "given", "given"))
        elif key in self.problem_defaults:
            self.decisions.append(Decision(key, self.problem_defaults[key], "the problem's defaults", "problem"))
        else:
            self.decisions.append(Decision(key, value, reason))

    def value(self, key: str, default: Any = None) -> Any:
        """The effective value of ``key``: given, else the problem's default, else the last decision."""
        if key in self.given:
            return self.given[key]
        if key in self.problem_defaults:
            return self.problem_defaults[key]
        for d in reversed(self.decisions):
            if d.key == key:
                return d.value
        return default

    def has(self, key: str) -> bool:
        return key in self.given or key in self.problem_defaults or any(d.key == key for d in self.decisions)

    @property
    def settings(self) -> dict[str, Any]:
        """The planned values (the rules' own decisions only), as a problem's ``defaults`` would say them."""
        return {d.key: d.value for d in self.decisions if d.source == "plan"}

    def lines(self) -> list[str]:
        """A few lines, one per group of keys (surrogate, constraints, points, weights, schedule): each key's
        value (marked ``[given]`` or ``[problem]`` where those won over the rule) and the rules' reasons."""
        groups: dict[str, list[Decision]] = {}
        for d in self.decisions:
            groups.setdefault(_group(d.key), []).append(d)
        out = []
        for name, items in groups.items():
            values = ", ".join(f"{d.key} {_show(d.value)}{_MARK[d.source]}" for d in items)
            reasons = "; ".join(dict.fromkeys(d.reason for d in items if d.source == "plan"))
            out.append(f"{name}: {values}" + (f" ({reasons})" if reasons else ""))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "decisions": [
                {"key": d.key, "value": d.value, "reason": d.reason, "source": d.source} for d in self.decisions
            ],
            "signals": self.signals.as_dict() if hasattr(self.signals, "as_dict") else self.signals,
        }


_MARK = {"plan": "", "problem": " [problem]", "given": " [given]"}
_GROUPS = {
    "surrogate": ("model", "hidden", "degree", "kan_k", "norm", "groups", "grids", "lr", "output_scale"),
    "constraints": ("hard_bc",),
    "points": ("n_interior", "n_boundary", "n_initial"),
    "weights": ("alpha", "causal"),
}


def _group(key: str) -> str:
    for name, keys in _GROUPS.items():
        if key in keys or any(key.endswith(f"_{k}") for k in keys):
            return name
    return "schedule"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
