"""Time-marching: a time-dependent problem trained as consecutive windows (``train.windows = K``).

Window k is the problem on ``[t_k, t_k+1]`` (:mod:`pinnkan.windows`): its
start-face conditions continue the previous window's solution, so errors are
carried forward but every window trains a short, well-conditioned problem
rather than one long one where the solution must propagate from t_0 through
the whole interval by optimisation alone. Each window is an ordinary run (the
same configuration: surrogate, schedule, budgeted rounds), given the budget
left divided by the windows left, so time a window does not need passes on.
The result is one :class:`~pinnkan.surrogates.piecewise.PiecewiseInTime`
surrogate, measured on the whole problem like any other.

A window that ends diverged or interrupted ends the march there: the solution
then covers the windows trained so far and its last piece answers for later
times (the status says which).
"""

from __future__ import annotations

import copy
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from pinnkan.errors import UserError
from pinnkan.jet import resolve_engine
from pinnkan.metrics import error_figures, make_tracker
from pinnkan.problem import Problem
from pinnkan.solution import Solution
from pinnkan.surrogates.piecewise import PiecewiseInTime
from pinnkan.training.budget import BudgetedTraining
from pinnkan.windows import refuse, time_axis, window_edges, window_problem

TrainFn = Callable[..., Solution]


def march(
    problem: Problem, kind: str, cfg: dict[str, dict[str, Any]], train: TrainFn, callbacks: Sequence[Any] = ()
) -> Solution:
    """Train ``problem`` in ``cfg["train"]["windows"]`` windows with ``train(problem, kind, cfg, callbacks)``
    (:func:`pinnkan.solve.train`) per window; a UserError (one line) where windows do not apply."""
    check(problem, cfg)
    count, t, r = cfg["train"]["windows"], cfg["train"], cfg["run"]
    edges = window_edges(problem, count)
    budget = float(t["max_time"] or 0.0)
    started = time.perf_counter()
    pieces, windows, history, reasons = [], [], [], []
    steps, train_s, status, signal = 0, 0.0, "ok", None
    previous = None
    for k in range(count):
        began = time.perf_counter()
        own = window_problem(problem, edges[k], edges[k + 1], previous, start_points(cfg), r["seed"])
        # each window's setup and measuring (outside its training clock) as the last one took, so that the
        # last windows are not left with the others' overruns
        overhead = windows[-1]["wall_s"] - windows[-1]["train_s"] if windows else 0.0  # it grows with k
        left = budget - (time.perf_counter() - started) - overhead * (count - k)
        wcfg = window_config(cfg, k, left, count - k)
        if r["progress"]:
            print(f"window {k + 1}/{count}: {problem.time} in [{edges[k]:.6g}, {edges[k + 1]:.6g}]", file=sys.stderr)
        sol = train(own, kind, wcfg, callbacks)
        pieces.append(sol.model)
        history += [{**row, "step": row.get("step", 0) + steps, "window": k} for row in sol.history]
        reasons += [f"window {k + 1}: {why}" for why in sol.stop_reasons]
        steps, train_s = steps + sol.steps, train_s + sol.train_s
        windows.append(window_report(k, edges, sol, time.perf_counter() - began))
        previous = sol.model
        if sol.status != "ok":
            status, signal = sol.status, sol.signal
            break
    model = PiecewiseInTime(pieces, edges[: len(pieces) + 1], time_axis(problem))
    param = next(model.parameters())
    tracker = make_tracker(problem, cfg, param.dtype, param.device)
    engine = resolve_engine(r["derivatives"], model)
    final = tracker(model, engine)
    return Solution(
        problem,
        model,
        cfg,
        engine,
        history,
        error_figures(final),
        status,
        reasons,
        steps,
        train_s,
        tracker,
        signal,
        None,
        sol.term_names,
        {"adaptive": combined_report(windows), "windows": windows},
    )


def check(problem: Problem, cfg: dict[str, dict[str, Any]]) -> None:
    """A UserError (one line) where the problem or the run cannot be trained in windows; called before
    training (:func:`pinnkan.solve.configure`) and by :func:`march`."""
    from pinnkan.distributed import current

    try:
        refuse(problem)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if cfg["data"].get("observations"):
        raise UserError("train.windows > 1 does not take observations (--data) yet: give --windows 1")
    if current().active:
        raise UserError("train.windows > 1 runs on one process (no --nproc) for now")


def start_points(cfg: dict[str, dict[str, Any]]) -> int:
    """Points of a continued start-face condition: the run's initial-condition count."""
    return int(cfg["data"]["n_initial"])


def window_config(cfg: dict[str, dict[str, Any]], k: int, left_s: float, windows_left: int) -> dict[str, Any]:
    """Window k's configuration: one window, its share of the budget left, its own error measure (a reference
    file covers the whole interval)."""
    out = copy.deepcopy(cfg)
    out["train"]["windows"] = 1
    if cfg["train"]["max_time"]:
        out["train"]["max_time"] = max(left_s, 1.0) / windows_left
    out["data"]["reference"] = None
    out["run"]["seed"] = cfg["run"]["seed"] + k
    return out


def window_report(k: int, edges: list[float], sol: Solution, wall_s: float) -> dict[str, Any]:
    """What metrics.json keeps of window k: its interval, steps, training and wall time (setup and measuring
    included), status, figures and budgeted outcome."""
    adaptive = sol.reports.get("adaptive") or {}
    return {
        "window": k,
        "interval": [edges[k], edges[k + 1]],
        "steps": sol.steps,
        "train_s": round(sol.train_s, 3),
        "wall_s": round(wall_s, 3),
        "status": sol.status,
        "errors": {key: v for key, v in sol.errors.items() if isinstance(v, float)},
        "outcome": adaptive.get("outcome"),
        "relative_residual": adaptive.get("relative_residual"),
        "drift_bound": adaptive.get("drift_bound"),
        "trusted": adaptive.get("trusted", True),
    }


def combined_report(windows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The windows' budgeted outcomes as one: "budget" if any window ran out of time, else "stalled" if any
    stalled, else "converged"; the largest check residual; the drift bounds summed (a window's error is the
    next one's initial error); trusted when every window is and the summed drift stays within bound."""
    outcomes = [w["outcome"] for w in windows if w["outcome"]]
    if not outcomes:
        return None
    outcome = next((o for o in ("budget", "stalled") if o in outcomes), "converged")
    residuals = [w["relative_residual"] for w in windows if isinstance(w["relative_residual"], float)]
    drifts = [w["drift_bound"] for w in windows if isinstance(w["drift_bound"], float)]
    drift = sum(drifts) if drifts else None
    trusted = all(w["trusted"] for w in windows) and (drift is None or drift <= BudgetedTraining.untrusted_drift)
    return {
        "outcome": outcome,
        "relative_residual": max(residuals) if residuals else None,
        "drift_bound": drift,
        "trusted": trusted,
        "windows": len(windows),
    }
