"""Budgeted training (``train.adaptive``): rounds of the main phase, growing what limits the check residual.

The run is a ladder of rounds (``train.rounds`` stages). In each, the main
phase (Levenberg-Marquardt, say) runs until its loss stops falling fast: a
*plateau*, ``plateau_steps`` steps that lowered the loss by less than
``plateau_gain`` times. At a round's end the loss is measured on a check set
apart from the training points (4096 interior points and 512 per condition,
the same loss, the same weights) and compared with the training loss there:

- a check loss far above the training loss (``gap_limit`` times) means the
  residual is small at the points and not between them: the next round has
  twice the collocation points (the new ones drawn where the residual is large,
  beside the old);
- otherwise the surrogate is what limits it: it grows (``Surrogate.grow``: the
  KAN's grid doubles, the Chebyshev KAN's degree rises by two), keeping the
  function it had, while it stays within what the main phase can train.

The best state by the check loss is kept, and put back at the end. Training
stops *converged* when the check residual falls below ``converged`` times its
natural scale (each term divided by the size of its largest part, from the
plan's signals), *stalled* when two rounds in a row gained less than ``pay_factor`` (a growth
that did not pay is followed by the other kind: more points after a model
growth, and the other way round) or nothing is left to grow, and *budget* at
``train.max_time``.
A run whose residual stays above ``untrusted`` of its scale is reported as not
trustworthy. For a time-dependent problem a second measure bounds what the
residual can do over the horizon: for a stable linear evolution u_t = L u + f
the error obeys ||e(t)|| <= integral of ||r|| over [0, t], so T rms(r) / (the
data's size) estimates the relative error the residual left can accumulate; a
run where it exceeds ``untrusted_drift`` (10 %) is not trustworthy either (a
transported profile can sit at a residual of 1 % of its largest term and be
wrong by tens of per cent).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from pinnkan.keys import Key, positive
from pinnkan.metrics import pde_residual
from pinnkan.training.loss import Collocation, PINNLoss
from pinnkan.training.resample import rad_weights
from pinnkan.training.state import TrainState
from pinnkan.training.technique import Technique

# new interior points are drawn from a pool this many times larger, by the residual
POOL = 4
# a growth is taken only if the budget left buys at least this many steps of the grown problem
MIN_STEPS = 25
# the check set (the same seed for every run, far from the collocation seeds)
CHECK_SEED = 2**20 + 11
CHECK_INTERIOR, CHECK_CONDITION = 4096, 512


def grow_points(
    problem, points: Collocation, data: dict[str, Any], seed: int, residual: Callable | None = None
) -> Collocation:
    """The collocation points and as many new ones again, interior and per condition (Sobol points of another
    seed); a condition coupling g points per entry keeps its g blocks. With ``residual`` (points (M, D) ->
    |r| (M,)), the new interior points are drawn from a pool four times larger with probability
    |r| / mean |r| + 1 (RAD): they gather where the residual is large (a shock, a front)."""
    n = points.interior.shape[0]
    like = points.interior
    if residual is None:
        fresh = torch.as_tensor(problem.interior(n, seed, data["sampling"]), dtype=like.dtype, device=like.device)
    else:
        pool = torch.as_tensor(problem.interior(POOL * n, seed, data["sampling"]), dtype=like.dtype, device=like.device)
        weights = rad_weights(np.asarray(residual(pool), dtype=float))
        rows = np.random.default_rng(seed).choice(len(pool), size=n, replace=False, p=weights)
        fresh = pool[np.sort(rows)]
    interior = torch.cat([like, fresh])
    conditions = []
    for i, (cond, old) in enumerate(zip(problem.conditions, points.conditions)):
        if type(cond).__name__ == "PointSet":
            conditions.append(old)
            continue
        g = cond.coupled_points
        fresh = torch.as_tensor(
            cond.points(problem, old.shape[0] // g, seed + 101 * (i + 1)), dtype=old.dtype, device=old.device
        )
        blocks = [torch.cat([a, b]) for a, b in zip(old.chunk(g), fresh.chunk(g))]
        conditions.append(torch.cat(blocks))
    return Collocation(interior, conditions)


class BudgetedTraining(Technique):
    """See the module docstring; on with ``train.adaptive``."""

    name = "adaptive"
    weights_loss = False  # it grows the model and the points; the loss stays as it is
    config_keys = {
        "adaptive": Key(
            "bool",
            None,
            help="budgeted training: rounds of the main phase, each ended by a plateau, growing the model or the "
            "points where the check-set residual stalls, keeping the best state (default: the plan's, else off)",
        ),
        "rounds": Key("int", 8, check=positive, help="budgeted training: rounds of the main phase at most"),
        "plateau_steps": Key(
            "int", 20, check=positive, help="budgeted training: a round ends when this many steps ..."
        ),
        "plateau_gain": Key("float", 2.0, check=positive, help="... lowered the loss by less than this factor"),
        "gap_limit": Key(
            "float", 4.0, check=positive, help="budgeted training: check loss over training loss that adds points"
        ),
        "points_limit": Key(
            "int", 40000, check=positive, help="budgeted training: interior points at most after growing them"
        ),
    }
    switch = {"adaptive": True}
    pay_factor = 1.5
    converged = 1e-7
    untrusted = 1e-2
    untrusted_drift = 0.1

    def __init__(self, settings: dict[str, Any]) -> None:
        self.plateau_steps = int(settings.get("plateau_steps", 20))
        self.plateau_gain = float(settings.get("plateau_gain", 2.0))
        self.gap_limit = float(settings.get("gap_limit", 4.0))
        self.points_limit = int(settings.get("points_limit", 40000))
        self.max_params = int(settings.get("lm_max_params", 6000))
        self.main = str(settings.get("optimizer", "lm")).split("+")[-1]
        self.rounds: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None
        self.pending: str | None = None
        self.grew: str | None = None  # what the running round grew at its start ("model", "points", "none")
        self.unpaid = 0
        self.tried: list[str] = []  # what the rounds since the last one that paid grew
        self.losses: list[float] = []
        self.outcome = "budget"
        self.clock = (0.0, 0)  # (train_s, step) when the running round's main phase started
        self._check: PINNLoss | None = None

    @classmethod
    def from_config(cls, cfg: dict[str, dict[str, Any]]) -> BudgetedTraining | None:
        return cls(cfg["train"]) if cfg["train"].get("adaptive") else None

    # --- state ----------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "rounds": self.rounds,
            "best": self.best,
            "pending": self.pending,
            "grew": self.grew,
            "unpaid": self.unpaid,
            "tried": self.tried,
            "losses": self.losses,
            "outcome": self.outcome,
        }

    def load_state_dict(self, state: dict) -> None:
        self.rounds = list(state.get("rounds", []))
        self.best = state.get("best")
        self.pending = state.get("pending")
        self.grew = state.get("grew")
        self.unpaid = int(state.get("unpaid", 0))
        self.tried = list(state.get("tried", []))
        self.losses = list(state.get("losses", []))
        self.outcome = state.get("outcome", "budget")

    # --- the check set --------------------------------------------------------------
    def check_loss(self, state: TrainState) -> dict[str, float]:
        """The loss terms on the check set, with the training loss's weights (no point weights)."""
        loss = state.loss
        if self._check is None or self._check.model is not state.model:
            problem = state.problem
            like = loss.points.interior
            as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)  # noqa: E731
            interior = as_t(problem.interior(CHECK_INTERIOR, CHECK_SEED))
            conds = [
                as_t(c.points(problem, CHECK_CONDITION, CHECK_SEED + 101 * (i + 1)))
                for i, c in enumerate(problem.conditions)
            ]
            points = Collocation(interior, conds)
            self._check = PINNLoss(problem, state.model, loss.engine, points, loss.alpha, loss.data)
        with torch.no_grad():
            return {k: float(v) for k, v in self._check.terms().items()}

    def relative_residual(self, state: TrainState, terms: dict[str, float]) -> float | None:
        """The check residual against its natural scale: sqrt(pde mse) / the largest PDE term, and each trained
        condition's rms over the data scale; the largest of these. None without the plan's scales."""
        signals = state.config.get("plan", {}).get("signals") if isinstance(state.config.get("plan"), dict) else None
        if not signals or not signals.get("pde_scale"):
            return None
        data = signals.get("data_scale") or 1.0
        parts = [math.sqrt(max(terms.get("pde_loss", 0.0), 0.0)) / signals["pde_scale"]]
        for name in state.loss.trained_names:
            parts.append(math.sqrt(max(terms.get(f"{name}_loss", 0.0), 0.0)) / data)
        return max(parts)

    def drift_bound(self, state: TrainState, terms: dict[str, float]) -> float | None:
        """T sqrt(pde mse) / data scale on the check set (time-dependent problems; see the module docstring),
        None without time or without the plan's scales."""
        plan = state.config.get("plan")
        signals = plan.get("signals") if isinstance(plan, dict) else None
        problem = state.problem
        if not signals or problem.time is None or not signals.get("data_scale"):
            return None
        span = signals["extents"][problem.coords.index(problem.time)]
        return span * math.sqrt(max(terms.get("pde_loss", 0.0), 0.0)) / signals["data_scale"]

    # --- hooks ------------------------------------------------------------------------
    def on_stage_start(self, state: TrainState) -> None:
        if state.stage == 0 or self.pending is None:
            return
        action, self.pending = self.pending, None
        self.grew = action
        if action == "none":
            self.rounds[-1]["next"] = "nothing (no growth the budget can afford)"
            return
        if action == "points":
            before = state.loss.points.interior.shape[0]
            seed = state.config["run"]["seed"] + 1000 * state.stage

            def residual(x):
                return pde_residual(state.problem, state.model, x, state.loss.engine).double().cpu().numpy()

            state.loss.points = grow_points(state.problem, state.loss.points, state.config["data"], seed, residual)
            state.loss.point_weights.clear()
            what = f"points {before} -> {state.loss.points.interior.shape[0]}"
        else:
            what = state.model.grow(state.loss.points.interior) or "nothing"
        self.rounds[-1]["next"] = what
        state.stop_reasons.append(f"round {state.stage}: grew {what}")

    def on_phase_start(self, state: TrainState) -> None:
        self.losses = []
        if state.phase_name == self.main:
            self.clock = (state.train_s, state.step)

    def on_step_end(self, state: TrainState) -> None:
        if state.phase_name != self.main or state.stop_phase:
            return
        self.losses.append(state.terms.get("loss", math.nan))
        k = self.plateau_steps
        if len(self.losses) > k and self.losses[-1] > self.losses[-1 - k] / self.plateau_gain:
            state.stop_phase = f"plateau: {k} steps lowered the loss less than {self.plateau_gain:g}x"
            self.losses = self.losses[-k:]

    def on_stage_end(self, state: TrainState) -> None:
        if not state.terms:
            return
        check = self.check_loss(state)
        rel = self.relative_residual(state, check)
        record = {
            "round": state.stage,
            "step": state.step,
            "train_s": round(state.train_s, 3),
            "params": state.model.n_params,
            "points": int(state.loss.points.interior.shape[0]),
            "train_loss": state.terms.get("loss"),
            "check_loss": check["loss"],
            "relative_residual": rel,
            "drift_bound": self.drift_bound(state, check),
        }
        self.rounds.append(record)
        from pinnkan.surrogates import surrogate_blob

        previous = self.best["check_loss"] if self.best else math.inf
        if check["loss"] < previous:
            self.best = {"check_loss": check["loss"], "round": state.stage, "model": surrogate_blob(state.model)}
        if state.stage > 0:
            if check["loss"] < previous / self.pay_factor:
                self.unpaid, self.tried = 0, []
            else:
                self.unpaid += 1
                self.tried.append(self.grew or "none")
        if state.stop_run:  # the time budget, a signal or a divergence ended it
            return
        if rel is not None and rel < self.converged:
            self._stop(state, "converged", f"check residual {rel:.2e} of its scale")
            return
        if self.unpaid >= 2:
            why = f"two rounds (grown: {', '.join(self.tried)}) gained less than {self.pay_factor:g}x on the check set"
            self._stop(state, "stalled", why)
            return
        self.pending = self._next_action(state, check, avoid=set(self.tried))
        if self.pending is None:
            self._stop(state, "stalled", "nothing left to grow")

    def _next_action(self, state: TrainState, check: dict[str, float], avoid: set[str] = frozenset()) -> str | None:
        """"points", "model", "none" (another round as it is) or None (nothing left worth a round), never a growth
        in ``avoid`` (what the round since the last one that paid grew): a model growth that did not pay is
        followed by more points and the other way round, not by more of the same.

        A growth is taken only where the budget left still buys ``MIN_STEPS`` steps of the grown problem: a
        Gauss-Newton step costs about M P^2 (M points, P parameters), so doubling the points doubles it and
        growing the model multiplies it by (P' / P)^2."""
        train_pde = max(state.terms.get("pde_loss", 0.0), 1e-300)
        gap = check.get("pde_loss", 0.0) / train_pde
        n = state.loss.points.interior.shape[0]
        grown = state.model.grown_params()
        ratio = (grown / max(state.model.n_params, 1)) ** 2 if grown else math.inf
        points_ok = "points" not in avoid and 2 * n <= self.points_limit and self._affords(state, 2.0)
        model_ok = (
            "model" not in avoid
            and grown is not None
            and (self.main != "lm" or grown <= self.max_params)
            and self._affords(state, ratio)
        )
        if gap > self.gap_limit and points_ok:
            return "points"
        if model_ok:
            return "model"
        if points_ok:
            return "points"
        return "none" if self._affords(state, 1.0) else None

    def _affords(self, state: TrainState, factor: float) -> bool:
        """Whether the budget left buys MIN_STEPS main steps that cost ``factor`` times this round's."""
        budget = float(state.config["train"].get("max_time") or 0.0)
        t0, s0 = self.clock
        steps = state.step - s0
        if not budget or steps <= 0:
            return True
        per_step = (state.train_s - t0) / steps
        return (budget - state.train_s) >= MIN_STEPS * per_step * factor

    def _stop(self, state: TrainState, outcome: str, why: str) -> None:
        self.outcome = outcome
        state.stop_run = True
        state.stop_reasons.append(f"{outcome}: {why} (round {state.stage})")

    def on_train_end(self, state: TrainState) -> None:
        if state.status != "ok" or self.best is None or not self.rounds:
            return
        last = self.rounds[-1]
        if self.best["round"] != last["round"] and self.best["check_loss"] < last["check_loss"]:
            from pinnkan.surrogates import surrogate_from_blob

            state.best_model = surrogate_from_blob(self.best["model"], state.problem).to(
                device=next(state.model.parameters()).device
            )
            state.stop_reasons.append(
                f"kept round {self.best['round']}'s state (check loss {self.best['check_loss']:.3e} against "
                f"{last['check_loss']:.3e} at the end)"
            )

    def report(self) -> dict[str, Any]:
        """What metrics.json keeps: how training ended, each round, the best round and whether to trust it."""
        best = self.best["round"] if self.best else None
        rel = next((r["relative_residual"] for r in self.rounds if r["round"] == best), None)
        drift = next((r.get("drift_bound") for r in self.rounds if r["round"] == best), None)
        trusted = (rel is None or rel <= self.untrusted) and (drift is None or drift <= self.untrusted_drift)
        return {
            "outcome": self.outcome,
            "best_round": best,
            "relative_residual": rel,
            "drift_bound": drift,
            "trusted": trusted,
            "rounds": self.rounds,
        }
