"""Running a sweep end to end: plan, execute (resumably), collect, fit, draw."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from pinnkan.config import load_toml
from pinnkan.errors import UserError
from pinnkan.output import write_csv, write_json
from pinnkan.sweeps import executors
from pinnkan.sweeps.figures import figures
from pinnkan.sweeps.fits import fit_all, headline
from pinnkan.sweeps.results import RESULT_COLUMNS, collect, read_results
from pinnkan.sweeps.spec import plan


def _spline_order(runs: list[dict[str, Any]]) -> int:
    """k of the sweep's grid family (for the spline-theory reference line); 3 when there is none."""
    for r in runs:
        if r.get("grids"):
            return int(r["cfg"]["model"].get("k") or 3)
    return 3


def run_sweep(
    config: str,
    out: str | None,
    workers: int = 1,
    executor: str = "local",
    address: str | None = None,
    echo: bool = True,
) -> Path:
    """Run every point of the sweep in ``config`` that has no finished folder under OUT/runs; write
    results.csv, fits.json, scaling.png and grid_extension.png. Returns OUT."""
    spec = load_toml(config)
    runs = plan(spec)
    name = spec["sweep"].get("name") or Path(config).stem
    out_dir = Path(out or f"runs/sweep-{name}")
    try:
        (out_dir / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out_dir)!r} cannot be written: {exc.strerror}") from None
    k = _spline_order(runs)
    write_json(
        out_dir / "sweep.json",
        {"config": spec, "spline_order": k, "runs": [{k_: v for k_, v in r.items() if k_ != "cfg"} for r in runs]},
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
    if executor == "ray":
        source = executors.ray(todo, str(out_dir), workers, address)
    else:
        source = executors.local(todo, str(out_dir), workers)
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
    figures(out_dir, rows, fits, k)
    if echo:
        print(headline(rows, fits), file=sys.stderr)
    return out_dir


def redraw(sweep_dir: Path) -> None:
    """Re-fit and redraw a sweep's figures from its results.csv."""
    rows = read_results(sweep_dir)
    meta = json.loads((sweep_dir / "sweep.json").read_text()) if (sweep_dir / "sweep.json").exists() else {}
    fits = fit_all(rows, meta.get("config", {}).get("sweep", {}).get("select", "best"))
    write_json(sweep_dir / "fits.json", fits)
    figures(sweep_dir, rows, fits, int(meta.get("spline_order", 3)))
