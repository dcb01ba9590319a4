"""`pinnkan sweep`: KAN vs MLP error against parameter count, with fitted exponents.

A sweep config (TOML) names the problem, a base configuration shared by every
point, seeds, and the two families::

    [sweep]
    problem = "poisson"
    seeds = [0]
    select = "best"          # points used in the fits: best per size, "frontier" or "all"

    [base.train]             # any solve settings, applied to every point
    steps = 300

    [kan]
    widths = [[2, 5, 1], [2, 10, 1]]
    grids = [3, 5, 10, 20]   # one run per width trains through this ladder: a point per grid
    [kan.train]              # optional settings for this family only

    [mlp]
    depths = [2, 3, 4]       # linear layers: [2,100,100,100,1] has depth 4
    widths = [10, 100]
    [mlp.train]

Every point is a `pinnkan solve` run with its own folder under ``OUT/runs``; a
run folder holding metrics.json is complete, so a sweep started again with the
same output folder skips it. The sweep writes results.csv, fits.json,
scaling.png and grid_extension.png.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from pinnkan.config import defaults, load_toml, schema, set_key
from pinnkan.errors import UserError
from pinnkan.output import write_csv, write_json

RESULT_COLUMNS = (
    "family",
    "width",
    "grid",
    "params",
    "seed",
    "mse",
    "rel_l2",
    "h1_mse",
    "rel_h1",
    "train_loss",
    "wall_s",
    "status",
    "run",
)
METRICS = ("mse", "rel_l2", "h1_mse", "rel_h1")
SWEEP_KEYS = {"problem", "seeds", "select", "name"}


# ---------------------------------------------------------------------------- spec
def _overrides(cfg: dict, table: dict[str, Any], where: str) -> dict:
    """A copy of cfg with a TOML table of {section: {key: value}} applied, every key checked."""
    cfg = copy.deepcopy(cfg)
    for section, keys in table.items():
        if section not in schema() or not isinstance(keys, dict):
            raise UserError(f"{where}: unknown key or section {section!r}; sections: {', '.join(schema())}")
        for key, value in keys.items():
            set_key(cfg, f"{section}.{key}", value)
    return cfg


def _int_list(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
        raise UserError(f"{where} must be a non-empty list of positive integers")
    return value


def plan(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of a sweep: [{id, family, width, grids|None, seed, cfg}], checked."""
    sweep = spec.get("sweep", {})
    unknown = set(spec) - {"sweep", "base", "kan", "mlp"}
    if unknown:
        raise UserError(f"sweep config: unknown section [{sorted(unknown)[0]}]; known: sweep, base, kan, mlp")
    bad = set(sweep) - SWEEP_KEYS
    if bad:
        raise UserError(f"sweep config: unknown key sweep.{sorted(bad)[0]}; known: {', '.join(sorted(SWEEP_KEYS))}")
    if "problem" not in sweep:
        raise UserError("sweep config: [sweep] needs problem = NAME")
    if sweep.get("select", "best") not in ("best", "frontier", "all"):
        raise UserError("sweep config: sweep.select must be one of: best, frontier, all")
    seeds = sweep.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise UserError("sweep.seeds must be a non-empty list of integers >= 0")
    base = _overrides(defaults(), spec.get("base", {}), "base")
    base["problem"]["name"] = sweep["problem"]
    base["run"]["progress"] = False
    runs = []
    if "kan" in spec:
        kan = dict(spec["kan"])
        widths = kan.pop("widths", None)
        grids = _int_list(kan.pop("grids", None), "kan.grids")
        if not isinstance(widths, list) or not widths:
            raise UserError("sweep config: kan.widths must be a list of width lists, e.g. [[2, 5, 1]]")
        cfg_k = _overrides(base, kan, "kan")
        for w in widths:
            _int_list(w, "kan.widths entries")
            for seed in seeds:
                cfg = copy.deepcopy(cfg_k)
                cfg["model"].update(kind="kan", width=list(w), grid=grids[0])
                cfg["train"]["grids"] = list(grids)
                cfg["run"]["seed"] = seed
                rid = f"kan-{'x'.join(map(str, w))}-g{'-'.join(map(str, grids))}-s{seed}"
                runs.append(
                    {"id": rid, "family": "kan", "width": list(w), "grids": list(grids), "seed": seed, "cfg": cfg}
                )
    if "mlp" in spec:
        mlp = dict(spec["mlp"])
        depths = _int_list(mlp.pop("depths", None), "mlp.depths")
        widths = _int_list(mlp.pop("widths", None), "mlp.widths")
        cfg_m = _overrides(base, mlp, "mlp")
        for depth in depths:
            for hidden in widths:
                for seed in seeds:
                    cfg = copy.deepcopy(cfg_m)
                    cfg["model"]["kind"] = "mlp"
                    cfg["model"]["width"] = None  # filled from the problem's dimensions below
                    cfg["run"]["seed"] = seed
                    runs.append(
                        {
                            "id": f"mlp-d{depth}-w{hidden}-s{seed}",
                            "family": "mlp",
                            "depth": depth,
                            "hidden": hidden,
                            "grids": None,
                            "seed": seed,
                            "cfg": cfg,
                        }
                    )
    if not runs:
        raise UserError("sweep config: give a [kan] or an [mlp] family (or both)")
    # widths of MLPs depend on the problem's input and output dimensions
    from pinnkan.solve import load_problem

    problem = load_problem(base["problem"]["name"], **{k: v for k, v in base["problem"].items() if k != "name"})
    d, f = problem.dim, len(problem.fields)
    for r in runs:
        if r["family"] == "mlp":
            r["width"] = [d] + [r["hidden"]] * (r["depth"] - 1) + [f]
            r["cfg"]["model"]["width"] = r["width"]
        elif r["width"][0] != d or r["width"][-1] != f:
            raise UserError(f"kan width {r['width']} must start with {d} and end with {f} for {problem.name}")
    return runs


# ---------------------------------------------------------------------------- running
def kan_params(width: list[int], grid: int, k: int) -> int:
    """Trainable parameters of a KAN: every edge has G + k coefficients, a base weight and a scale."""
    return sum(a * b for a, b in zip(width[:-1], width[1:])) * (grid + k + 2)


def rows_of_run(run: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """Result rows of a finished run: one per ladder stage for a KAN, one for an MLP."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    base = {
        "family": run["family"],
        "width": json.dumps(run["width"]).replace(" ", ""),
        "seed": run["seed"],
        "status": metrics["status"],
        "run": str(run_dir),
    }
    if run["family"] == "mlp":
        return [
            {
                **base,
                "grid": "",
                "params": metrics["params"],
                "train_loss": metrics.get("final_loss"),
                "wall_s": metrics["wall_s"],
                **{m: metrics[m] for m in METRICS},
            }
        ]
    with (run_dir / "history.csv").open() as fh:
        history = list(csv.DictReader(fh))
    k = json.loads((run_dir / "config.json").read_text())["model"]["k"]
    rows = []
    for grid in run["grids"]:
        stage = [h for h in history if h["phase"].endswith(f"G={grid}")]
        if not stage:
            continue  # the run stopped before this stage
        last = stage[-1]
        rows.append(
            {
                **base,
                "grid": grid,
                "params": kan_params(run["width"], grid, k),
                "train_loss": float(last["loss"]),
                "wall_s": float(last["wall_s"]),
                **{m: float(last[m]) for m in METRICS},
            }
        )
    return rows


def execute(run: dict[str, Any], out: str, threads: int) -> dict[str, Any]:
    """Run one point in this process (a worker); never raises."""
    os.environ.setdefault("NUMBA_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    from pinnkan.runfolder import solve_config

    run_dir = Path(out) / "runs" / run["id"]
    cfg = copy.deepcopy(run["cfg"])
    cfg["run"]["out"] = str(run_dir)
    try:
        solve_config(cfg, echo=False)
        return {"id": run["id"], "ok": True}
    except Exception as exc:  # a failed point is recorded, the sweep goes on
        return {
            "id": run["id"],
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "trace": traceback.format_exc(limit=5),
        }


def _ray_execute(runs, out, workers, address):
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'pinnkan[ray]'") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(log_to_driver=False, **kwargs)
        started = True
    try:
        remote = ray.remote(num_cpus=1)(execute)
        pending = {remote.remote(r, str(Path(out).resolve()), 1): r for r in runs}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                yield ray.get(ref)
    finally:
        if started:
            ray.shutdown()


def _local_execute(runs, out, workers):
    cores = os.cpu_count() or 1
    threads = max(1, cores // workers)
    if workers == 1:
        for r in runs:
            yield execute(r, out, threads)
        return
    import multiprocessing as mp

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(execute, r, out, threads): r for r in runs}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield fut.result()


def collect(runs: list[dict[str, Any]], out: Path, failures: dict[str, str]) -> list[dict[str, Any]]:
    rows = []
    for r in runs:
        run_dir = out / "runs" / r["id"]
        if (run_dir / "metrics.json").exists():
            rows += rows_of_run(r, run_dir)
        else:
            rows.append(
                {
                    "family": r["family"],
                    "width": json.dumps(r["width"]).replace(" ", ""),
                    "seed": r["seed"],
                    "grid": "",
                    "params": "",
                    "status": f"failed: {failures.get(r['id'], 'not run')}",
                    "run": str(run_dir),
                }
            )
    return rows


def run_sweep(
    config: str,
    out: str | None,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    echo: bool = True,
) -> Path:
    spec = load_toml(config)
    runs = plan(spec)
    name = spec["sweep"].get("name") or Path(config).stem
    out_dir = Path(out or f"runs/sweep-{name}")
    try:
        (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out_dir)!r} cannot be written: {exc.strerror}") from None
    write_json(
        out_dir / "sweep.json", {"config": spec, "runs": [{k: v for k, v in r.items() if k != "cfg"} for r in runs]}
    )
    todo = [r for r in runs if not (out_dir / "runs" / r["id"] / "metrics.json").exists()]
    if echo:
        print(
            f"pinnkan sweep: {len(runs)} runs, {len(runs) - len(todo)} already complete, "
            f"{len(todo)} to go on {workers} {executor} worker(s) -> {out_dir}",
            file=sys.stderr,
        )
    failures: dict[str, str] = {}
    tic = time.perf_counter()
    source = (
        _ray_execute(todo, out_dir, workers, address)
        if executor == "ray"
        else _local_execute(todo, str(out_dir), workers)
    )
    for i, result in enumerate(source, 1):
        if not result["ok"]:
            failures[result["id"]] = result["error"]
        if echo:
            state = "done" if result["ok"] else f"FAILED ({result['error']})"
            print(f"  [{i}/{len(todo)}] {result['id']} {state} ({time.perf_counter() - tic:.0f} s)", file=sys.stderr)
        # results so far, so an interrupted sweep leaves a readable table
        write_csv(out_dir / "results.csv", collect(runs, out_dir, failures), RESULT_COLUMNS)
    rows = collect(runs, out_dir, failures)
    write_csv(out_dir / "results.csv", rows, RESULT_COLUMNS)
    fits = fit_all(rows, spec["sweep"].get("select", "best"))
    write_json(out_dir / "fits.json", fits)
    figures(out_dir, rows, fits)
    if echo:
        print(headline(rows, fits), file=sys.stderr)
    return out_dir


# ---------------------------------------------------------------------------- fits
def fit_exponent(params: np.ndarray, errors: np.ndarray) -> dict[str, Any]:
    """Least-squares fit log(error) = c + p log(params); p with its 95% interval."""
    from scipy import stats

    x, y = np.log(params.astype(float)), np.log(errors.astype(float))
    n = x.size
    if n < 2:
        return {"exponent": None, "ci95": None, "n": int(n)}
    slope, intercept = np.polyfit(x, y, 1)
    out: dict[str, Any] = {"exponent": float(slope), "intercept": float(intercept), "n": int(n)}
    if n > 2:
        resid = y - (intercept + slope * x)
        se = math.sqrt(float(resid @ resid) / (n - 2) / float(((x - x.mean()) ** 2).sum()))
        t = stats.t.ppf(0.975, n - 2)
        out["ci95"] = [float(slope - t * se), float(slope + t * se)]
    else:
        out["ci95"] = None
    return out


def select_points(rows: list[dict[str, Any]], metric: str, how: str) -> list[tuple[int, float]]:
    """(params, error) pairs of ok rows: all, the best per parameter count, or the Pareto frontier."""
    pts = [
        (int(r["params"]), float(r[metric]))
        for r in rows
        if r.get("status") == "ok"
        and r.get(metric) not in ("", None)
        and math.isfinite(float(r[metric]))
        and float(r[metric]) > 0
    ]
    if how == "all":
        return sorted(pts)
    best: dict[int, float] = {}
    for p, e in pts:
        best[p] = min(e, best.get(p, math.inf))
    chosen = sorted(best.items())
    if how == "frontier":
        front, low = [], math.inf
        for p, e in chosen:
            if e < low:
                front.append((p, e))
                low = e
        return front
    return chosen


def _fit(rows: list[dict[str, Any]], metric: str, how: str) -> dict[str, Any]:
    pts = select_points(rows, metric, how)
    fit = fit_exponent(np.array([p for p, _ in pts]), np.array([e for _, e in pts])) if pts else {"n": 0}
    fit["points"] = [[p, e] for p, e in pts]
    fit["select"] = how
    return fit


def fit_all(rows: list[dict[str, Any]], how: str = "best") -> dict[str, Any]:
    fits: dict[str, Any] = {}
    for family in ("kan", "mlp"):
        fam = [r for r in rows if r["family"] == family]
        if not fam:
            continue
        fits[family] = {metric: _fit(fam, metric, how) for metric in METRICS}
    # the paper's N^-(k+1) is a statement about one width along its grid ladder: fit each ladder too
    ladders = {}
    for width in sorted({r["width"] for r in rows if r["family"] == "kan"}):
        ladder = [r for r in rows if r["family"] == "kan" and r["width"] == width]
        ladders[width] = {metric: _fit(ladder, metric, "best") for metric in METRICS}
    if ladders:
        fits["kan_ladders"] = ladders
    return fits


def headline(rows: list[dict[str, Any]], fits: dict[str, Any]) -> str:
    def find(family, width, grid=None):
        for r in rows:
            if r["family"] == family and r["width"] == width and (grid is None or str(r["grid"]) == str(grid)):
                if r.get("status") == "ok":
                    return r
        return None

    parts = []
    kan = [r for r in rows if r["family"] == "kan" and r["width"] == "[2,10,1]" and r.get("status") == "ok"]
    if kan:
        best = min(kan, key=lambda r: float(r["mse"]))
        parts.append(f"KAN [2,10,1] G={best['grid']}: mse {float(best['mse']):.2e} ({best['params']} params)")
    mlp = find("mlp", "[2,100,100,100,1]")
    if mlp:
        parts.append(f"MLP [2,100,100,100,1]: mse {float(mlp['mse']):.2e} ({mlp['params']} params)")
    for family in ("kan", "mlp"):
        f = fits.get(family, {}).get("mse")
        if f and f.get("exponent") is not None:
            ci = f.get("ci95")
            ci_txt = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            parts.append(f"{family} mse ~ N^{f['exponent']:.2f}{ci_txt}")
    for width, fl in fits.get("kan_ladders", {}).items():
        if fl["mse"].get("exponent") is not None:
            parts.append(f"KAN {width} ladder mse ~ N^{fl['mse']['exponent']:.2f}")
    return "; ".join(parts) or "no completed points"


# ---------------------------------------------------------------------------- figures
def figures(out: Path, rows: list[dict[str, Any]], fits: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pinnkan.plots import save

    fig, axs = plt.subplots(2, 2, figsize=(11, 8.5))
    colors = {"kan": "C0", "mlp": "C3"}
    for ax, metric in zip(axs.ravel(), METRICS):
        for family in ("kan", "mlp"):
            ok = [
                r for r in rows if r["family"] == family and r.get("status") == "ok" and r.get(metric) not in ("", None)
            ]
            if not ok:
                continue
            ax.loglog(
                [int(r["params"]) for r in ok],
                [float(r[metric]) for r in ok],
                "o",
                color=colors[family],
                alpha=0.35,
                ms=4,
            )
            fit = fits.get(family, {}).get(metric, {})
            pts = fit.get("points") or []
            if pts:
                p = np.array([q[0] for q in pts], float)
                ax.loglog(
                    p, [q[1] for q in pts], "o", color=colors[family], label=f"{family.upper()} ({fit['select']})"
                )
            if fit.get("exponent") is not None:
                xs = np.geomspace(p.min(), p.max(), 20)
                ax.loglog(
                    xs,
                    np.exp(fit["intercept"]) * xs ** fit["exponent"],
                    "-",
                    color=colors[family],
                    label=f"{family.upper()} fit N^{fit['exponent']:.2f}",
                )
        kan_pts = fits.get("kan", {}).get(metric, {}).get("points") or []
        if kan_pts:
            p0, e0 = kan_pts[0]
            xs = np.geomspace(p0, max(q[0] for q in kan_pts) * 1.5, 20)
            ax.loglog(xs, e0 * (xs / p0) ** -4.0, "k--", lw=1, label="N^-4 (the paper's claim)")
        ax.set(xlabel="parameters N", ylabel=metric, title=metric)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, out / "scaling.png")

    kan_rows = [r for r in rows if r["family"] == "kan" and r.get("status") == "ok"]
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, width in enumerate(sorted({r["width"] for r in kan_rows})):
        rs = sorted(
            (r for r in kan_rows if r["width"] == width and str(r["seed"]) == str(kan_rows[0]["seed"])),
            key=lambda r: int(r["grid"]),
        )
        if not rs:
            continue
        g = [int(r["grid"]) for r in rs]
        ax.loglog(g, [float(r["mse"]) for r in rs], "o-", color=f"C{i}", label=f"KAN {width} test mse")
        ax.loglog(
            g, [float(r["train_loss"]) for r in rs], "s--", color=f"C{i}", alpha=0.7, label=f"KAN {width} train loss"
        )
    ax.set(xlabel="grid size G", ylabel="error", title="grid extension")
    ax.grid(True, which="both", alpha=0.3)
    if kan_rows:
        ax.legend(fontsize=7)
    save(fig, out / "grid_extension.png")


def redraw(sweep_dir: Path) -> None:
    """Re-fit and redraw a sweep's figures from its results.csv."""
    with (sweep_dir / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    spec = (
        json.loads((sweep_dir / "sweep.json").read_text()).get("config", {})
        if (sweep_dir / "sweep.json").exists()
        else {}
    )
    fits = fit_all(rows, spec.get("sweep", {}).get("select", "best"))
    write_json(sweep_dir / "fits.json", fits)
    figures(sweep_dir, rows, fits)


# ---------------------------------------------------------------------------- CLI
def cmd_sweep(args: argparse.Namespace) -> int:
    if args.workers <= 0:
        raise UserError("--workers must be positive")
    run_sweep(args.config, args.out, args.workers, args.executor, args.address)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from pinnkan.plots import loss_curves

    paths = [Path(p) for p in args.paths]
    for p in paths:
        if not p.is_dir():
            raise UserError(f"{str(p)!r} is not a folder")
    if len(paths) == 1 and (paths[0] / "results.csv").exists():
        redraw(paths[0])
        print(f"redrew {paths[0] / 'scaling.png'} and {paths[0] / 'grid_extension.png'}", file=sys.stderr)
        return 0
    runs = {}
    for p in paths:
        if not (p / "history.csv").exists():
            raise UserError(f"{str(p)!r} holds neither results.csv (a sweep) nor history.csv (a run)")
        with (p / "history.csv").open() as fh:
            runs[p.name] = list(csv.DictReader(fh))
    out = Path(args.out or "loss_curves.png")
    loss_curves(runs, out)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "sweep",
        help="scaling-law sweep of KANs vs MLPs",
        description="Run a scaling sweep (see configs/scaling_poisson.toml); resumable.",
    )
    p.add_argument("config", help="sweep TOML file")
    p.add_argument("--out", help="output folder (default runs/sweep-<config name>); reuse it to resume")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--executor", choices=("local", "ray"), default="local", help="local processes or Ray tasks")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser(
        "plot",
        help="redraw a sweep's figures, or overlay runs' loss curves",
        description="pinnkan plot SWEEP_DIR | pinnkan plot RUN_DIR [RUN_DIR ...]",
    )
    p.add_argument("paths", nargs="+", help="a sweep folder, or one or more run folders")
    p.add_argument("--out", help="figure path when overlaying runs (default loss_curves.png)")
    p.set_defaults(func=cmd_plot)
