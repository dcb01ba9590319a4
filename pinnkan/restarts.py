"""Restarts: train the first grid stage from several initial models, go on from the best.

A small network (tens of parameters) has many poor local minima, and which one it
falls into is mostly settled in its first grid stage: a [2,2,1] KAN on
``poisson_sinsin`` (default schedule) ends at rel_l2 1e-4 or better from 5 of 16
initial seeds (loss after the first stage 1.2e-3 to 4.3e-3) and at 4e-3 to 0.4
from the others (first-stage losses 1.1e-2 and more). Training every start through
the whole schedule would choose better among the good ones, but costs the whole
run per start. Several starts often reach similar losses by different networks:
for a KAN the run goes on from the sparsest of the starts whose loss is within
:data:`SIMPLEST_WITHIN` times the lowest (smallest sum of edge importances, mean
|phi|, the KAN paper's L1 measure), which on ``poisson_sinsin`` prefers the exact
[2,2,1] structure (sin inner edges, square outer edges, rel_l2 2.6e-5 in the end)
over a lower first-stage loss reached by large edges that cancel each other (rel_l2
1.5e-4 in the end); for other surrogates, the lowest loss. Small models are cheap, so ``train.restarts`` defaults to
:data:`AUTO_RESTARTS` starts for a model of at most :data:`AUTO_MAX_PARAMS`
parameters and to 1 (no scouting) otherwise.

Start i is the configured model built with init seed ``init_seed + i`` (the
collocation points stay those of ``run.seed``), trained for the first grid stage
alone (the whole schedule for a surrogate without grids), without callbacks. The
run then trains in full from the start of lowest loss: its configuration says
``restarts = 1`` and that ``init_seed``, so the run folder's config.json reproduces
it without scouting again.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Callable
from typing import Any

import torch

from pinnkan.errors import UserError
from pinnkan.problem import Problem
from pinnkan.surrogates import Surrogate

AUTO_RESTARTS = 16
AUTO_MAX_PARAMS = 100
SIMPLEST_WITHIN = 4.0
N_SPARSITY_POINTS = 2000


def default_restarts(n_params: int) -> int:
    """``train.restarts`` when not given, for a model of ``n_params`` parameters."""
    return AUTO_RESTARTS if n_params <= AUTO_MAX_PARAMS else 1


def scout(
    problem: Problem,
    cfg: dict[str, dict[str, Any]],
    train: Callable[..., Any],
    echo: bool = False,
) -> dict[str, Any] | None:
    """Try the starts, set ``cfg``'s ``run.init_seed`` to the best and ``train.restarts`` to 1.

    ``train(problem, kind, cfg)`` trains one start (``pinnkan.solve.train``). Returns
    ``{"init_seeds": [...], "losses": [...], "edge_l1": [...], "chosen": seed}`` (metrics.json's
    ``restarts``), or None when there is one start only. A signal during scouting ends
    it; the run then goes on from the best start so far (and stops at once, as asked).
    """
    t, r = cfg["train"], cfg["run"]
    count = int(t["restarts"])
    t["restarts"] = 1
    if count == 1:
        return None
    base = r["init_seed"] if r.get("init_seed") is not None else r["seed"]
    seeds, losses, sparsity = [], [], []
    points = torch.as_tensor(problem.interior(N_SPARSITY_POINTS, r["seed"]))
    for i in range(count):
        trial = copy.deepcopy(cfg)
        trial["train"]["grids"] = list(t["grids"][:1])
        trial["run"].update(init_seed=base + i, progress=False, log_every=10**9)
        solution = train(problem, cfg["model"]["kind"], trial)
        loss = solution.final_loss
        seeds.append(base + i)
        losses.append(float(loss) if loss is not None and math.isfinite(loss) else math.inf)
        param = next(solution.model.parameters())
        sparsity.append(solution.model.edge_sum(points.to(dtype=param.dtype, device=param.device)))
        if echo:
            print(
                f"pinnkan: start {i + 1}/{count} (init seed {base + i}): first-stage loss {losses[-1]:.3e}",
                file=sys.stderr,
            )
        if solution.status == "interrupted":
            break
    best = _choose(losses, sparsity)
    r["init_seed"] = seeds[best]
    return {"init_seeds": seeds, "losses": losses, "edge_l1": sparsity, "chosen": seeds[best]}


def _choose(losses: list[float], sparsity: list[float | None]) -> int:
    """The sparsest start among those within SIMPLEST_WITHIN x the lowest loss (the lowest loss without edges)."""
    lowest = min(losses)
    if any(s is None for s in sparsity) or not math.isfinite(lowest):
        return min(range(len(losses)), key=losses.__getitem__)
    near = [i for i, loss in enumerate(losses) if loss <= SIMPLEST_WITHIN * lowest]
    return min(near, key=lambda i: (sparsity[i], losses[i]))


def refuse_instance(cfg: dict[str, dict[str, Any]], model: Surrogate) -> None:
    """Restarts rebuild the model from its configuration: a model passed in is trained as it is."""
    if cfg["train"].get("restarts", 1) != 1:
        raise UserError(
            f"train.restarts = {cfg['train']['restarts']} needs the model by name (e.g. 'kan'), "
            f"not a built {type(model).__name__}: restarts build each start from the configuration"
        )
    cfg["train"]["restarts"] = 1
