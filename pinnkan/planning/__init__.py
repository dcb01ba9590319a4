"""The planner: a problem's declaration in, a training plan out (surrogate, sizes, points, weights, schedule).

:func:`make_plan` reads the problem's :class:`~pinnkan.planning.signals.Signals` and runs the
:data:`~pinnkan.planning.rules.RULES` over them. The plan sits between pinnkan's built-in fallbacks and
everything a person says: a problem's ``defaults``, a configuration file and the command line each win over
any decision, and the plan records who did. ``train.plan = "off"`` leaves every key to the fallbacks.
"""

from __future__ import annotations

from typing import Any

from pinnkan.planning.plan import Decision, Plan
from pinnkan.planning.rules import RULES
from pinnkan.planning.signals import Signals, read_signals

# configuration keys (section, key) and the problem-defaults name they are planned under
_MODEL_KEYS = {"kind": "model", "hard_bc": "hard_bc", "output_scale": "output_scale"}


def given_values(cfg: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The keys a configuration (before resolution) already sets, named as a problem's ``defaults`` names them."""
    out: dict[str, Any] = {}
    model = cfg.get("model", {})
    for key, name in _MODEL_KEYS.items():
        if model.get(key) is not None:
            out[name] = model[key]
    kind = model.get("kind")
    if model.get("width") is not None:
        for family in ("kan", "chebyshev", "rational", "mlp"):
            if kind in (None, family):
                out[f"{family}_hidden"] = list(model["width"][1:-1])
    for key in ("degree", "k", "norm", "groups", "init", "basis"):
        if model.get(key) is not None:
            owner = {"degree": "chebyshev", "norm": "chebyshev", "k": "kan", "basis": "kan"}.get(key, "rational")
            out[f"{owner}_{key}"] = model[key]
    if model.get("grid") is not None:
        out["grids"] = [model["grid"]]
    for section in ("data", "train"):
        for key, value in cfg.get(section, {}).items():
            if value is not None and key not in ("plan",):
                out[key] = value
    return out


def make_plan(problem, cfg: dict[str, dict[str, Any]]) -> Plan:
    """The plan for ``problem`` under a configuration not yet resolved (None where open)."""
    from pinnkan.config import schema

    given = given_values(cfg)
    # keys whose built-in default is not None are always "given" by value; only what the user set counts
    for key, spec in {**schema()["data"], **schema()["train"]}.items():
        if key in given and spec.default is not None and given[key] == spec.default:
            del given[key]
    budget = cfg.get("train", {}).get("max_time")
    observed = 0
    if cfg.get("data", {}).get("observations"):
        observed = 1
    signals = read_signals(problem, budget or 0.0, observed)
    own = {} if cfg.get("train", {}).get("plan") == "only" else dict(problem.defaults)
    plan = Plan(signals, given, own)
    for rule in RULES:
        rule(signals, plan)
    return plan


__all__ = ["Decision", "Plan", "RULES", "Signals", "make_plan", "read_signals"]
