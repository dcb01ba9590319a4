"""A run folder: ``pinnkan solve``'s configuration in, :func:`pinnkan.solve` in the middle, files out.

Writes config.json, history.csv, metrics.json, model.pt, loss_curves.png,
solution.png and checkpoint.pt, each atomically, into a staging folder renamed
into place when complete (see :class:`pinnkan.output.RunDir`). While training,
checkpoints go to the staging folder, so a run killed at any moment can be
continued with ``pinnkan solve --resume OUT``; SIGINT and SIGTERM end training
after the current step and write every output (status "interrupted").
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
from pinnkan.distributed import current
from pinnkan.errors import UserError
from pinnkan.metrics import METRICS
from pinnkan.output import RunDir, atomic_write, write_csv, write_json
from pinnkan.solve import Solution, configure, load_problem, prepare, resume, train
from pinnkan.surrogates import save_surrogate
from pinnkan.training import signals, term_names
from pinnkan.training.checkpoint import FILENAME, Checkpointer, load_checkpoint

# the fixed leading columns of history.csv; each condition's <name>_loss follows the groups
HISTORY_HEAD = ("step", "phase", "wall_s", "params")


def history_columns(solution: Solution) -> tuple[str, ...]:
    """The columns of history.csv: the head, the loss terms, the tracker's figures, per-field ones."""
    keys = solution.tracker.keys
    extra = sorted({k for row in solution.history for k in row if k.startswith(tuple(f"{m}_" for m in METRICS))})
    terms = solution.term_names or term_names(solution.problem)
    window = ("window",) if solution.history and "window" in solution.history[0] else ()  # time-marching
    return (*HISTORY_HEAD, *window, *terms, *solution.unknowns, *keys, *extra)


def unknowns_report(solution: Solution) -> dict[str, dict[str, Any]] | None:
    """Per learned parameter: its estimate, initial guess and, for a problem's own synthetic observations, the
    true value they were made with and the estimate's relative error; None without unknowns."""
    if not solution.unknowns:
        return None
    p, cfg = solution.problem, solution.config
    synthetic = not cfg["data"].get("observations") and p.has_observations
    out = {}
    for name, value in solution.unknowns.items():
        entry: dict[str, Any] = {"value": value, "initial": p.unknown_specs[name].initial}
        if synthetic:
            true = p.configured(name)
            entry.update(true=true, rel_error=abs(value - true) / abs(true) if true else abs(value))
        out[name] = entry
    return out


def metrics(solution: Solution, total_s: float, retries: int = 0) -> dict[str, Any]:
    """metrics.json: the final figures and what produced them."""
    cfg, model = solution.config, solution.model
    return {
        "problem": solution.problem.name,
        "model": model.kind,
        "width": cfg["model"]["width"],
        "grid": getattr(model, "grid", None),
        "spec": model.spec(),  # as trained last: budgeted training may have grown the grid or the degree
        "params": model.n_params,
        "steps": solution.steps,
        "wall_s": round(solution.train_s, 3),
        "total_s": round(total_s, 3),
        **solution.errors,
        "error_measure": solution.tracker.measure,
        "error_keys": list(solution.tracker.keys),
        "final_loss": solution.final_loss,
        "dtype": cfg["run"]["dtype"],
        "device": cfg["run"]["device"],
        "derivatives": solution.engine,
        "seed": cfg["run"]["seed"],
        "status": solution.status,
        "stop_reasons": solution.stop_reasons,
        "stopped_by": solution.signal,
        "divergence_retries": retries,
        "restarts": solution.restarts,
        "unknowns": unknowns_report(solution),
        "adaptive": solution.reports.get("adaptive"),
        "windows": solution.reports.get("windows"),  # time-marching: each window's interval, figures, outcome
        "plan": cfg.get("plan"),
        "out": cfg["run"]["out"],
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def default_out(cfg: dict[str, dict[str, Any]]) -> str:
    name = Path(cfg["problem"]["name"]).stem
    return f"runs/{name}-{cfg['model']['kind']}-{time.strftime('%Y%m%d-%H%M%S')}"


def write_run(
    solution: Solution,
    out: str | Path | RunDir,
    total_s: float = 0.0,
    retries: int = 0,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write a solution's run folder at ``out`` (replacing one there only once complete); metrics.json's content.

    ``extra``: more entries for metrics.json (e.g. ``pinnkan prune``'s before/after figures).

    A failure to write (disk full, folder gone) is one line; the staging folder and its
    last checkpoint stay for ``--resume``.
    """
    run_dir = out if isinstance(out, RunDir) else RunDir(out)
    d = run_dir.path
    m = {**metrics(solution, total_s, retries), **(extra or {})}
    try:
        write_json(d / "config.json", solution.config)
        write_csv(d / "history.csv", solution.history, history_columns(solution))
        save_surrogate(solution.model, d / "model.pt", {"problem": solution.problem.name}, write=atomic_write)
        plots.loss_curves({solution.problem.name: solution.history}, d / "loss_curves.png")
        plots.solution_fields(solution.problem, solution.model, solution.tracker, d / "solution.png")
        write_json(d / "metrics.json", m)
        if solution.status != "interrupted":  # only an interrupted run is resumed from its folder
            (d / FILENAME).unlink(missing_ok=True)
        run_dir.commit()
    except BaseException as exc:
        if not (d / FILENAME).exists():
            run_dir.discard()  # nothing to resume from: leave nothing behind
        if isinstance(exc, OSError):
            raise UserError(f"cannot write the run's outputs to {str(d)!r}: {exc.strerror or exc}") from None
        raise
    return m


def _callbacks(run_dir: RunDir, cfg: dict[str, dict[str, Any]]) -> list[Checkpointer]:
    r = cfg["run"]
    if cfg["train"].get("windows", 1) > 1:  # a window's checkpoint cannot resume the march (pinnkan.marching)
        return []
    return [Checkpointer(run_dir.path / FILENAME, r["checkpoint_every"], r["checkpoint_seconds"])]


def _train_into(
    run_dir: RunDir,
    cfg: dict[str, dict[str, Any]],
    start,
    echo: bool,
) -> dict[str, Any]:
    """Run ``start(callbacks)`` -> Solution under deferred signals, retry divergence as configured, write."""
    t_start = time.perf_counter()
    r = cfg["run"]
    # several processes: rank 0 retries nothing on its own (the others would wait for it in the next step)
    retry = r["on_divergence"] == "retry" and not current().active
    with signals.deferred_signals():
        try:
            solution = start(_callbacks(run_dir, cfg))
            retries = 0
            while solution.status == "diverged" and retry and retries < r["divergence_retries"]:
                ckpt_path = run_dir.path / FILENAME
                if not ckpt_path.exists():
                    break
                retries += 1
                scale = 0.1**retries
                if echo:
                    print(
                        f"pinnkan: {solution.stop_reasons[-1]}; retry {retries}/{r['divergence_retries']} from the "
                        f"last checkpoint with step sizes x{scale:g}",
                        file=sys.stderr,
                    )
                solution = resume(load_checkpoint(ckpt_path), _callbacks(run_dir, cfg), lr_scale=scale)
        except BaseException:
            if not (run_dir.path / FILENAME).exists():
                run_dir.discard()  # nothing worth keeping; with a checkpoint the run stays resumable
            raise
        solution.config["run"]["out"] = str(run_dir.final)
        m = write_run(solution, run_dir, time.perf_counter() - t_start, retries)
    if echo:
        print(summary_line(m, str(run_dir.final)), file=sys.stderr)
    return m


def solve_config(cfg: dict[str, dict[str, Any]], echo: bool = True) -> dict[str, Any]:
    """Train as the (command line's) configuration says, write the run folder, return metrics.json's content."""
    params = {k: v for k, v in cfg["problem"].items() if k != "name"}
    problem = load_problem(cfg["problem"]["name"], **params)
    comm = current()
    resolved = configure(problem, cfg["model"]["kind"], cfg, {})
    out = resolved["run"]["out"] or default_out(resolved)
    resolved["run"]["out"] = out
    resolved = comm.broadcast(resolved)  # several processes: rank 0's plan and folder, taken once
    model, engine = prepare(problem, resolved["model"]["kind"], resolved)
    if not comm.main:  # rank 0 alone writes and reports
        resolved["run"]["progress"] = False
        return _train_elsewhere(resolved, lambda cbs: train(problem, resolved["model"]["kind"], resolved, cbs))
    run_dir = RunDir(out)  # an unusable --out is refused before training, not after
    if echo:
        print(
            f"pinnkan: {problem.name} with {model.kind} {resolved['model']['width']} "
            f"({model.n_params} params, {engine} derivatives, {resolved['run']['dtype']}) -> {out}",
            file=sys.stderr,
        )
        for line in plan_lines(resolved):
            print(f"  plan: {line}", file=sys.stderr)
    # the model by name: train() may scout restarts (pinnkan.restarts) before building the one it trains
    return _train_into(run_dir, resolved, lambda cbs: train(problem, resolved["model"]["kind"], resolved, cbs), echo)


def _train_elsewhere(cfg: dict[str, dict[str, Any]], start) -> dict[str, Any]:
    """A data-parallel run's process other than rank 0: trains its share, writes nothing; metrics.json's
    content as rank 0 computes it (not written)."""
    t_start = time.perf_counter()
    with signals.deferred_signals():
        solution = start([])
    return metrics(solution, time.perf_counter() - t_start)


def find_checkpoint(out: str | Path) -> Path:
    """The checkpoint a ``--resume OUT`` continues from: the unfinished run's, else an interrupted run's."""
    final = Path(out)
    staged = RunDir.staging(final) / FILENAME
    if staged.exists():
        return staged
    if (final / "metrics.json").exists():
        try:
            status = json.loads((final / "metrics.json").read_text()).get("status")
        except (OSError, ValueError):
            status = None
        if status != "interrupted":
            raise UserError(f"{str(final)!r} is a finished run (status {status}); there is nothing to resume")
    elif not final.is_dir():
        raise UserError(f"{str(final)!r} is neither a run folder nor an unfinished run")
    return final / FILENAME


def resume_run(out: str | Path, progress: bool | None = None, echo: bool = True) -> dict[str, Any]:
    """Continue the run at ``out`` from its last checkpoint, appending to its history; metrics.json's content."""
    comm = current()
    # several processes: rank 0 reads the checkpoint (taken with any number of processes) and sends it
    ckpt = comm.broadcast(load_checkpoint(find_checkpoint(out)) if comm.main else None)
    cfg = ckpt["config"]
    cfg["run"]["out"] = str(out)
    if progress is not None:
        cfg["run"]["progress"] = progress
    if not comm.main:
        cfg["run"]["progress"] = False
        return _train_elsewhere(cfg, lambda cbs: resume(ckpt, cbs))
    run_dir = RunDir(out, resume=True)
    if echo:
        pos = ckpt["position"]
        print(f"pinnkan: resuming {out} at step {pos['step']} ({pos['train_s']:.1f} s trained)", file=sys.stderr)
    return _train_into(run_dir, cfg, lambda cbs: resume(ckpt, cbs), echo)


def load_run(path: str | Path) -> tuple[Any, Any, dict[str, dict[str, Any]]]:
    """(problem, model, resolved configuration) of a finished run folder; a UserError if it is not one."""
    from pinnkan.surrogates import load_surrogate

    d = Path(path)
    if not (d / "config.json").is_file() or not (d / "model.pt").is_file():
        raise UserError(f"{str(path)!r} is not a finished run folder (it needs config.json and model.pt)")
    try:
        cfg = json.loads((d / "config.json").read_text())
        problem = load_problem(cfg["problem"]["name"], **{k: v for k, v in cfg["problem"].items() if k != "name"})
        model = load_surrogate(d / "model.pt", problem)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise UserError(f"cannot read the run at {str(path)!r}: {exc}") from None
    return problem, model, cfg


def plan_lines(cfg: dict[str, Any]) -> list[str]:
    """The plan's decisions, one line each (``key = value  (reason)``); [] without a plan."""
    from pinnkan.planning import Decision, Plan

    plan = cfg.get("plan")
    if not plan:
        return []
    decisions = [Decision(d["key"], d["value"], d["reason"], d["source"]) for d in plan["decisions"]]
    return Plan(None, decisions=decisions).lines()


def summary_line(m: dict[str, Any], out: str) -> str:
    grid = f" G={m['grid']}" if m.get("grid") else ""
    shown = ("mse", "rel_l2", "rel_h1", "residual_mean", "residual_max", "bc_max")
    figures = "".join(f"{k} {m[k]:.3e}, " for k in shown if isinstance(m.get(k), float))
    adaptive = m.get("adaptive") or {}
    how = ""
    if adaptive:
        rel = adaptive.get("relative_residual")
        how = f" ({adaptive['outcome']}"
        drift = adaptive.get("drift_bound")
        how += f"; check residual {rel:.1e} of its scale" if isinstance(rel, float) else ""
        how += f", {drift:.1e} over the horizon" if isinstance(drift, float) else ""
        how += "; NOT TRUSTWORTHY: the residual stayed large)" if not adaptive.get("trusted", True) else ")"
    return (
        f"{m['problem']} {m['model']} {json.dumps(m['width']).replace(' ', '')}{grid}: {m['params']} params, "
        f"{figures}{m['wall_s']:.1f} s training, status {m['status']}{how} -> {out}"
    )
