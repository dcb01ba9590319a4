"""A run folder: ``pinnkan solve``'s configuration in, :func:`pinnkan.solve` in the middle, files out.

Writes config.json, history.csv, metrics.json, model.pt, loss_curves.png and
solution.png, each atomically, into a staging folder renamed into place when
complete (see :class:`pinnkan.output.RunDir`).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from pinnkan import plots
from pinnkan.output import RunDir, atomic_write, write_csv, write_json
from pinnkan.solve import Solution, configure, load_problem, prepare, solve
from pinnkan.surrogates import save_surrogate
from pinnkan.training import term_names

# the fixed leading columns of history.csv; each condition's <name>_loss follows the groups
HISTORY_HEAD = ("step", "phase", "wall_s", "params")
ERROR_COLUMNS = ("mse", "rel_l2", "h1_mse", "rel_h1")


def history_columns(solution: Solution) -> tuple[str, ...]:
    extra = sorted({k for row in solution.history for k in row if k.startswith(tuple(f"{m}_" for m in ERROR_COLUMNS))})
    return (*HISTORY_HEAD, *term_names(solution.problem), *ERROR_COLUMNS, *extra)


def metrics(solution: Solution, total_s: float) -> dict[str, Any]:
    """metrics.json: the final figures and what produced them."""
    cfg, model = solution.config, solution.model
    return {
        "problem": solution.problem.name,
        "model": model.kind,
        "width": cfg["model"]["width"],
        "grid": getattr(model, "grid", None),
        "params": model.n_params,
        "steps": solution.steps,
        "wall_s": round(solution.train_s, 3),
        "total_s": round(total_s, 3),
        **solution.errors,
        "final_loss": solution.final_loss,
        "dtype": cfg["run"]["dtype"],
        "device": cfg["run"]["device"],
        "derivatives": solution.engine,
        "seed": cfg["run"]["seed"],
        "status": solution.status,
        "stop_reasons": solution.stop_reasons,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def default_out(cfg: dict[str, dict[str, Any]]) -> str:
    name = Path(cfg["problem"]["name"]).stem
    return f"runs/{name}-{cfg['model']['kind']}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_run(solution: Solution, out: str | Path | RunDir, total_s: float = 0.0) -> dict[str, Any]:
    """Write a solution's run folder at ``out`` (replacing one there only once complete); metrics.json's content."""
    run_dir = out if isinstance(out, RunDir) else RunDir(out)
    try:
        m = metrics(solution, total_s)
        d = run_dir.path
        write_json(d / "config.json", solution.config)
        write_csv(d / "history.csv", solution.history, history_columns(solution))
        save_surrogate(solution.model, d / "model.pt", {"problem": solution.problem.name}, write=atomic_write)
        plots.loss_curves({solution.problem.name: solution.history}, d / "loss_curves.png")
        plots.solution_fields(solution.problem, solution.model, solution.tracker, d / "solution.png")
        write_json(d / "metrics.json", m)
        run_dir.commit()
    except BaseException:
        run_dir.discard()
        raise
    return m


def solve_config(cfg: dict[str, dict[str, Any]], echo: bool = True) -> dict[str, Any]:
    """Train as the (command line's) configuration says, write the run folder, return metrics.json's content."""
    t_start = time.perf_counter()
    params = {k: v for k, v in cfg["problem"].items() if k != "name"}
    problem = load_problem(cfg["problem"]["name"], **params)
    resolved = configure(problem, cfg["model"]["kind"], cfg, {})
    out = resolved["run"]["out"] or default_out(resolved)
    model, engine = prepare(problem, resolved["model"]["kind"], resolved)
    run_dir = RunDir(out)  # an unusable --out is refused before training, not after
    try:
        if echo:
            print(
                f"pinnkan: {problem.name} with {model.kind} {resolved['model']['width']} "
                f"({model.n_params} params, {engine} derivatives, {resolved['run']['dtype']}) -> {out}",
                file=sys.stderr,
            )
        solution = solve(problem, model, config=resolved)
    except BaseException:
        run_dir.discard()
        raise
    solution.config["run"]["out"] = out
    m = write_run(solution, run_dir, time.perf_counter() - t_start)
    if echo:
        print(summary_line(m, out), file=sys.stderr)
    return m


def summary_line(m: dict[str, Any], out: str) -> str:
    grid = f" G={m['grid']}" if m.get("grid") else ""
    return (
        f"{m['problem']} {m['model']} {json.dumps(m['width']).replace(' ', '')}{grid}: {m['params']} params, "
        f"mse {m['mse']:.3e}, rel_l2 {m['rel_l2']:.3e}, rel_h1 {m['rel_h1']:.3e}, "
        f"{m['wall_s']:.1f} s training, status {m['status']} -> {out}"
    )
