"""One PINN run from a configuration to its output folder (DESIGN.md §6)."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from pinnkan import plots
from pinnkan.config import resolve
from pinnkan.errors import UserError
from pinnkan.jet import JetError, compute_jet, resolve_engine
from pinnkan.metrics import ErrorTracker
from pinnkan.output import RunDir, atomic_write, write_csv, write_json
from pinnkan.problem import Problem
from pinnkan.registry import get_problem
from pinnkan.surrogates import build_surrogate, save_surrogate
from pinnkan.train import LOSS_TERMS, Collocation, Trainer

DTYPES = {"float32": torch.float32, "float64": torch.float64}
HISTORY_COLUMNS = ("step", "phase", "wall_s", *LOSS_TERMS, "mse", "rel_l2", "h1_mse", "rel_h1")


def make_problem(cfg: dict[str, dict[str, Any]]) -> Problem:
    """The problem named in cfg['problem'], with its parameters applied."""
    cls = get_problem(cfg["problem"]["name"])
    params = {k: v for k, v in cfg["problem"].items() if k != "name"}
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None


def prepare(cfg: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], Problem, torch.nn.Module, str]:
    """Resolve cfg and build (resolved cfg, problem, surrogate, engine); checks everything a user can get wrong."""
    problem = make_problem(cfg)
    cfg = resolve(cfg, problem)
    cfg["problem"].update(problem.param_values())
    r, m = cfg["run"], cfg["model"]
    if r["device"] == "cuda" and not torch.cuda.is_available():
        raise UserError("run.device = 'cuda' but no CUDA device is available; use --device cpu")
    torch.manual_seed(r["seed"])
    lo = torch.tensor(problem.domain.lo, dtype=torch.float64)
    hi = torch.tensor(problem.domain.hi, dtype=torch.float64)
    try:
        model = build_surrogate(m["kind"], m["width"], lo, hi, m)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    model = model.to(dtype=DTYPES[r["dtype"]], device=r["device"])
    try:
        engine = resolve_engine(r["derivatives"], model, problem.mixed_partials)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    check_residual(problem, model, engine)
    return cfg, problem, model, engine


def check_residual(problem: Problem, model: torch.nn.Module, engine: str) -> None:
    """Evaluate the residual once on a few points, so that a residual asking its jet for
    something it does not hold fails here, in one line, not after the run has started."""
    param = next(model.parameters())
    x = torch.as_tensor(problem.interior(4, seed=0), dtype=param.dtype, device=param.device)
    lap = problem.hessian == "laplacian"
    try:
        jet = compute_jet(engine, model, x, problem.order, problem.coords, problem.fields, False, lap)
        problem.residual(x, jet)
    except JetError as exc:
        raise UserError(f"problem {problem.name!r}: residual: {exc}") from None


def default_out(cfg: dict[str, dict[str, Any]]) -> str:
    name = Path(cfg["problem"]["name"]).stem
    return f"runs/{name}-{cfg['model']['kind']}-{time.strftime('%Y%m%d-%H%M%S')}"


def solve(cfg: dict[str, dict[str, Any]], echo: bool = True) -> dict[str, Any]:
    """Train as cfg says, write the run folder, return metrics.json's content."""
    t_start = time.perf_counter()
    cfg, problem, model, engine = prepare(cfg)
    r = cfg["run"]
    if r["out"] is None:
        r["out"] = default_out(cfg)
    run_dir = RunDir(r["out"])
    try:
        dtype, device = DTYPES[r["dtype"]], r["device"]
        tracker = ErrorTracker(problem, dtype=dtype, device=device)
        points = Collocation.sample(problem, cfg["data"], r["seed"], dtype, device)
        trainer = Trainer(problem, model, cfg, tracker, engine, points)
        if echo:
            print(
                f"pinnkan: {problem.name} with {model.kind} {cfg['model']['width']} "
                f"({model.n_params} params, {engine} derivatives, {r['dtype']}) -> {r['out']}",
                file=sys.stderr,
            )
        outcome = trainer.run()
        final = outcome.history[-1] if outcome.history else tracker(model, engine)
        metrics = {
            "problem": problem.name,
            "model": model.kind,
            "width": cfg["model"]["width"],
            "grid": getattr(model, "grid", None),
            "params": model.n_params,
            "steps": outcome.steps,
            "wall_s": round(outcome.train_s, 3),
            "total_s": round(time.perf_counter() - t_start, 3),
            **{k: final[k] for k in ("mse", "rel_l2", "h1_mse", "rel_h1")},
            **{k: v for k, v in final.items() if k.startswith(("mse_", "rel_l2_", "h1_mse_", "rel_h1_"))},
            "final_loss": final.get("loss"),
            "dtype": r["dtype"],
            "device": device,
            "derivatives": engine,
            "seed": r["seed"],
            "status": outcome.status,
            "stop_reasons": outcome.stop_reasons,
            "torch": torch.__version__,
            "python": platform.python_version(),
        }
        d = run_dir.path
        write_json(d / "config.json", cfg)
        write_csv(d / "history.csv", outcome.history, HISTORY_COLUMNS)
        save_surrogate(model, d / "model.pt", {"problem": problem.name}, write=atomic_write)
        plots.loss_curves({problem.name: outcome.history}, d / "loss_curves.png")
        plots.solution_fields(problem, model, tracker, d / "solution.png")
        write_json(d / "metrics.json", metrics)
        run_dir.commit()
    except BaseException:
        run_dir.discard()
        raise
    if echo:
        print(summary_line(metrics, r["out"]), file=sys.stderr)
    return metrics


def summary_line(m: dict[str, Any], out: str) -> str:
    grid = f" G={m['grid']}" if m.get("grid") else ""
    return (
        f"{m['problem']} {m['model']} {json.dumps(m['width']).replace(' ', '')}{grid}: {m['params']} params, "
        f"mse {m['mse']:.3e}, rel_l2 {m['rel_l2']:.3e}, rel_h1 {m['rel_h1']:.3e}, "
        f"{m['wall_s']:.1f} s training, status {m['status']} -> {out}"
    )
