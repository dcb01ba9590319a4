"""The planning rules: each reads signals (and the decisions before it) and decides some keys.

A rule is a function ``rule(signals, plan)`` that calls ``plan.decide(key, value, reason)``; the keys are
those a problem's ``defaults`` may hold. Rules run in the order of :data:`RULES`; a later rule reads an
earlier one's (or a given) value with ``plan.value(key)``. Adding a rule is one function and one entry.

The constants were fixed on the development problems (``benchmarks/dev``) and then left alone for the
held-out ones (``benchmarks/heldout``); see ``benchmarks/README.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pinnkan.planning.plan import Plan
from pinnkan.planning.signals import Signals

# the surrogate family of problems nobody tuned, its hidden width and degree: a Gauss-Newton step costs
# M P^2, so the model starts small (two fields at width 20 took three times as long a step as at 16, and
# the Schrodinger problem failed there where it trained at 16) and grows where the residual stalls
FAMILY = "chebyshev"
HIDDEN = 16
DEGREE = 5
# interior points: a base and a share per input dimension, clipped; budgeted training adds more where the
# check residual says they are too few
POINTS_BASE = 4000
POINTS_PER_DIM = 2000
POINTS_MAX = 12000
POINTS_MIN = 6000
# causal weights in time (w_i = exp(-eps sum_{k<i} L_k)): eps = CAUSAL / (largest PDE term)^2, so that the
# weights read the residual against its own scale
CAUSAL = 0.5
# the training budget in seconds when nobody gives one
BUDGET = 600.0
# Adam steps before Gauss-Newton: a cheap start away from the initial network's flat regions
WARMUP = 100
# the most Gauss-Newton steps of one round of budgeted training (its time and plateau end it first)
ROUND_STEPS = 5000
# time-marching for pure transport (first order in every coordinate): one window per this many radians of
# the data carried past a point over the horizon (T x largest PDE term / data size), at most MAX_WINDOWS and
# at least WINDOW_SECONDS of the budget each
RADIANS_PER_WINDOW = 16.0
MAX_WINDOWS = 8
WINDOW_SECONDS = 60.0
# schedule keys: giving any of them takes the schedule out of the planner's hands
SCHEDULE = ("optimizer", "steps", "grids", "adam_steps")


def surrogate(s: Signals, plan: Plan) -> None:
    plan.decide("model", FAMILY, "the family that trained best across the development problems")


def size(s: Signals, plan: Plan) -> None:
    """Sizes for the planner's own family; another family given keeps its surrogate's defaults (a B-spline KAN
    its spline order raised above the residual's order where that is needed)."""
    kind = plan.value("model")
    if kind == FAMILY:
        plan.decide(f"{kind}_hidden", [HIDDEN, HIDDEN], "two layers, small enough for fast Gauss-Newton steps")
        plan.decide(f"{kind}_degree", DEGREE, "raised where the residual stalls")
    elif kind == "kan" and s.max_order > 3:
        plan.decide("kan_k", s.max_order + 1, f"above the residual's order {s.max_order}")


def hard_constraints(s: Signals, plan: Plan) -> None:
    if s.hard_bc:
        soft = f" ({', '.join(s.soft_conditions)} penalised)" if s.soft_conditions else ""
        plan.decide("hard_bc", True, f"data on whole box faces imposed{soft}")
    else:
        plan.decide("hard_bc", False, f"not imposed: {s.hard_bc_reason}")


def collocation(s: Signals, plan: Plan) -> None:
    n = int(min(POINTS_MAX, max(POINTS_MIN, POINTS_BASE + POINTS_PER_DIM * s.dim)))
    plan.decide(
        "n_interior", n, f"{POINTS_BASE} + {POINTS_PER_DIM} per input dimension, in [{POINTS_MIN}, {POINTS_MAX}]"
    )
    nb = max(200, n // 10)
    plan.decide("n_boundary", nb, "a tenth of that per condition")
    if s.time is not None:
        plan.decide("n_initial", nb, "a tenth of that per condition")


def output_scale(s: Signals, plan: Plan) -> None:
    size = s.data_scale if s.data_scale > 0 else 0.0
    if size and not 0.1 <= size <= 10.0:
        scale = float(f"{10 ** round(math.log10(size)):.0e}")
        plan.decide("output_scale", scale, f"the data's size {size:.2g}: the network works at order one")
    else:
        plan.decide("output_scale", 1.0, "the data's size is of order one" if size else "no data sets a size")


def weights(s: Signals, plan: Plan) -> None:
    soft = plan.value("hard_bc") is not True or bool(s.soft_conditions)
    if not soft and not s.observations:
        plan.decide("alpha", 1.0, "every condition imposed: only the PDE is trained")
        return
    data = s.data_scale if s.data_scale > 0 else 1.0
    ratio = (data / s.pde_scale) ** 2 if s.pde_scale > 0 else 1.0
    alpha = float(f"{min(1.0, max(1e-4, ratio)):.2g}")
    plan.decide("alpha", alpha, f"(data scale {data:.3g} / largest PDE term {s.pde_scale:.3g})^2, in [1e-4, 1]")


def causality(s: Signals, plan: Plan) -> None:
    """Causal weights where the PDE is first order in time (an evolution from initial data alone), so that a
    network trained on all times at once does not settle on a solution that ignores the initial data. On the
    development problems: Schrodinger 0.96 -> 2.5e-3 with them, multi-scale heat 3.4 -> 2.1e-2; the 1-D wave
    (second order in time, with an initial rate) 6.6e-5 without them, 0.70 with."""
    if s.time is None or s.orders.get(s.time, 0) != 1 or s.pde_scale <= 0 or _schedule_given(plan):
        return
    eps = float(f"{CAUSAL / s.pde_scale**2:.2g}")
    why = f"first order in time: earlier times first; {CAUSAL} / (largest PDE term {s.pde_scale:.3g})^2"
    plan.decide("causal", eps, why)


def marching(s: Signals, plan: Plan) -> None:
    """Time windows where the PDE is pure transport (first order in time and in every spatial coordinate) and
    the data is carried through many radians over the horizon: a PINN on the whole interval must carry the
    initial profile along every characteristic by optimisation alone; a window carries it a few radians. Only
    where hard constraints impose the start data (each window's start is the previous one's solution, imposed
    exactly; penalised, every first-order development problem failed in windows).

    Decided on the development set at 240 s (docs/results/dev-windows.md against docs/results/dev.md): the
    advection problem (32 radians) 1.3e-3 in one window, 3.1e-4 in two, 3.4e-4 in four, and in eight 0.33
    (30 s windows, the last ones starved); every other time-dependent problem lost in four windows
    (Schrodinger 2.5e-3 -> 3.6e-3, Burgers 1.1e-4 -> 1.9e-2, Allen-Cahn 6.6e-4 -> 0.14, the multi-scale heat
    problem 1.1e-2 -> 47: a window's share of the budget is too small for its hard early part, the long heat
    problem 3.5e-6 -> 1.2e-5, the 1-D wave 6.6e-5 -> 9.4e-5), so they keep one window."""
    if s.time is None or s.max_order != 1 or s.orders.get(s.time, 0) != 1 or not plan.value("hard_bc", False):
        return
    if _schedule_given(plan) or s.processes > 1:  # a recipe trains as it says; windows run on one process
        return
    if s.data_scale <= 0 or s.pde_scale <= 0:
        return
    horizon = s.extents[s.coords.index(s.time)] * s.pde_scale / s.data_scale
    budget = float(plan.value("max_time", BUDGET) or BUDGET)
    windows = min(MAX_WINDOWS, math.ceil(horizon / RADIANS_PER_WINDOW), int(budget // WINDOW_SECONDS))
    if windows > 1:
        why = (
            f"pure transport carried {horizon:.0f} radians over the horizon: one window per {RADIANS_PER_WINDOW:g}, "
            f"at least {WINDOW_SECONDS:g} s each"
        )
        plan.decide("windows", windows, why)


def _schedule_given(plan: Plan) -> list[str]:
    """The schedule keys someone gave (the command line, a configuration, a problem's recipe)."""
    return [k for k in SCHEDULE if k in plan.given or k in plan.problem_defaults]


def schedule(s: Signals, plan: Plan) -> None:
    given = _schedule_given(plan)
    if given:
        plan.decide("adaptive", False, f"the schedule is given ({', '.join(given)})")
        return
    plan.decide("optimizer", "adam+lm", "Gauss-Newton (Levenberg-Marquardt) after a short Adam start")
    plan.decide("adam_steps", WARMUP, "a short start")
    plan.decide("steps", ROUND_STEPS, "per round at most: plateaus end rounds first")
    if s.processes > 1:
        why = f"{s.processes} processes: budgeted rounds run on one process only; the schedule to the budget"
        plan.decide("adaptive", False, why)
    else:
        plan.decide("adaptive", True, "rounds growing the model or the points where the check residual stalls")
    plan.decide("max_time", BUDGET, "the default budget")


RULES: list[Callable[[Signals, Plan], None]] = [
    surrogate,
    size,
    hard_constraints,
    output_scale,
    collocation,
    weights,
    causality,
    schedule,
    marching,
]
