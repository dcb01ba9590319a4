"""Physics-informed training: the loss, the optimizer phases, the grid schedule.

loss = alpha * mean(residual^2) + sum_c weight_c * mean(condition_c^2), with the
condition terms grouped by kind into bc_loss and ic_loss. A run is a sequence of
stages, one per KAN grid (grid extension between stages); each stage runs Adam,
L-BFGS, or Adam then L-BFGS.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pinnkan.jet import compute_jet
from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Problem

LOSS_TERMS = ("loss", "pde_loss", "bc_loss", "ic_loss")


@dataclass
class Collocation:
    """Training points: interior (N, D) and, per condition, its points (n_c, D)."""

    interior: Tensor
    conditions: list[Tensor]

    @classmethod
    def sample(cls, problem: Problem, data: dict[str, Any], seed: int, dtype, device) -> Collocation:
        n_int = data["n_interior"]
        if data["sampling"] == "sobol":
            xi = problem.interior(n_int, seed)
        else:
            rng = np.random.default_rng(seed)
            lo, hi = np.asarray(problem.domain.lo), np.asarray(problem.domain.hi)
            xi = lo + rng.random((n_int, problem.dim)) * (hi - lo)
        conds = []
        for i, c in enumerate(problem.conditions):
            n = data["n_initial"] if c.kind == "ic" else data["n_boundary"]
            conds.append(torch.as_tensor(c.points(problem, n, seed + 101 * (i + 1)), dtype=dtype, device=device))
        return cls(torch.as_tensor(xi, dtype=dtype, device=device), conds)


@dataclass
class Outcome:
    history: list[dict[str, Any]]
    status: str  # "ok", "diverged", "interrupted"
    stop_reasons: list[str] = field(default_factory=list)
    train_s: float = 0.0
    steps: int = 0


class Progress:
    """A tqdm bar on a terminal; elsewhere a status line at most every 15 s."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled = total, enabled
        self.tty = enabled and sys.stderr.isatty()
        self.bar = None
        self.last = time.perf_counter()
        if self.tty:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="step", dynamic_ncols=True, file=sys.stderr)

    def update(self, step: int, info: dict[str, float]) -> None:
        text = " ".join(f"{k}={v:.2e}" for k, v in info.items() if v is not None and not math.isnan(v))
        if self.bar is not None:
            self.bar.n = step
            self.bar.set_postfix_str(text, refresh=True)
        elif self.enabled and time.perf_counter() - self.last > 15:
            self.last = time.perf_counter()
            print(f"step {step}/{self.total} {text}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class Trainer:
    """Trains ``model`` on ``problem`` as the resolved configuration says."""

    def __init__(
        self,
        problem: Problem,
        model,
        cfg: dict[str, dict[str, Any]],
        tracker: ErrorTracker,
        engine: str,
        points: Collocation,
        on_log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.problem, self.model, self.cfg = problem, model, cfg
        self.tracker, self.engine, self.points = tracker, engine, points
        self.alpha = cfg["train"]["alpha"]
        self.on_log = on_log
        self.last_terms: dict[str, float] = {}

    def loss_terms(self) -> dict[str, Tensor]:
        """loss, pde_loss, bc_loss, ic_loss (scalars; ic_loss only with initial conditions)."""
        p, m, e = self.problem, self.model, self.engine
        x = self.points.interior
        jet = compute_jet(e, m, x, p.order, p.coords, p.fields, laplacian=p.hessian == "laplacian")
        pde = p.residual(x, jet).square().mean()
        terms = {"pde_loss": pde}
        for cond, xc in zip(p.conditions, self.points.conditions):
            jc = compute_jet(e, m, xc, cond.order, p.coords, p.fields)
            term = cond.weight * cond.residual(p, xc, jc).square().mean()
            key = f"{cond.kind}_loss"
            terms[key] = terms[key] + term if key in terms else term
        terms["loss"] = self.alpha * pde + sum(v for k, v in terms.items() if k != "pde_loss")
        return terms

    def _closure(self, opt: torch.optim.Optimizer) -> Callable[[], Tensor]:
        def closure() -> Tensor:
            opt.zero_grad(set_to_none=True)
            terms = self.loss_terms()
            terms["loss"].backward()
            self.last_terms = {k: float(v.detach()) for k, v in terms.items()}
            return terms["loss"]

        return closure

    def _optimizer(self, name: str) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        t = self.cfg["train"]
        if name == "adam":
            return torch.optim.Adam(params, lr=t["lr"])
        return torch.optim.LBFGS(
            params,
            lr=1.0,
            max_iter=1,
            max_eval=40,
            history_size=t["history_size"],
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn="strong_wolfe",
        )

    def plan(self) -> list[tuple[int | None, list[tuple[str, int]]]]:
        """[(grid or None, [(optimizer, steps), ...]), ...] — one entry per stage."""
        t = self.cfg["train"]
        grids = t["grids"] or [None]
        stages = []
        for i, g in enumerate(grids):
            if t["optimizer"] == "adam+lbfgs":
                phases = ([("adam", t["adam_steps"])] if i == 0 and t["adam_steps"] > 0 else []) + [
                    ("lbfgs", t["steps"])
                ]
            else:
                phases = [(t["optimizer"], t["steps"])]
            stages.append((g, phases))
        return stages

    def run(self) -> Outcome:
        t, r = self.cfg["train"], self.cfg["run"]
        stages = self.plan()
        total = sum(n for _, phases in stages for _, n in phases)
        progress = Progress(total, r["progress"])
        history: list[dict[str, Any]] = []
        reasons: list[str] = []
        status, step, train_s = "ok", 0, 0.0
        log_every, tol, budget = r["log_every"], t["tolerance"], t["max_time"]

        def log(phase: str) -> None:
            row = {"step": step, "phase": phase, "wall_s": round(train_s, 4)}
            row.update({k: self.last_terms.get(k, float("nan")) for k in LOSS_TERMS})
            row.update(self.tracker(self.model, self.engine))
            history.append(row)
            progress.update(step, {"loss": row["loss"], "mse": row["mse"]})
            if self.on_log is not None:
                self.on_log(row)

        try:
            for i, (grid, phases) in enumerate(stages):
                if i > 0 and grid is not None:
                    tic = time.perf_counter()
                    self.model.extend_grid(grid, self.points.interior)
                    train_s += time.perf_counter() - tic
                for name, n_steps in phases:
                    phase = f"{name}" + (f" G={grid}" if grid is not None else "")
                    opt = self._optimizer(name)
                    closure = self._closure(opt)
                    reason, stalled, prev = f"{n_steps} steps done", 0, None
                    for s in range(n_steps):
                        tic = time.perf_counter()
                        opt.step(closure)
                        train_s += time.perf_counter() - tic
                        step += 1
                        cur = self.last_terms["loss"]
                        if not math.isfinite(cur):
                            status, reason = "diverged", "non-finite loss"
                            log(phase)
                            break
                        if name == "lbfgs" and prev is not None and abs(prev - cur) <= tol * max(abs(cur), 1e-300):
                            stalled += 1
                        else:
                            stalled = 0
                        prev = cur
                        if step % log_every == 0 or s == n_steps - 1:
                            log(phase)
                        if stalled >= 5:
                            reason = f"loss change below tolerance {tol:g} for 5 steps (step {s + 1})"
                            if step % log_every:
                                log(phase)
                            break
                        if budget and train_s > budget:
                            reason = f"time budget {budget:g}s reached"
                            if step % log_every:
                                log(phase)
                            break
                    reasons.append(f"{phase}: {reason}")
                    if status != "ok" or reason.startswith("time budget"):
                        raise StopIteration
        except StopIteration:
            pass
        except KeyboardInterrupt:
            status = "interrupted"
            reasons.append(f"interrupted at step {step}")
            if self.last_terms and (not history or history[-1]["step"] != step):
                log("interrupted")
        finally:
            progress.close()
        return Outcome(history, status, reasons, train_s, step)
