"""A sweep's results table: one row per point (per grid of a ladder), read back from the run folders."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

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


def _width(run: dict[str, Any]) -> str:
    return json.dumps(run["width"]).replace(" ", "")


def rows_of_run(run: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """Result rows of a finished run: one per ladder stage for a grid family, else one.

    Parameter counts are the model's own, as logged in history.csv at each stage.
    """
    metrics = json.loads((run_dir / "metrics.json").read_text())
    base = {
        "family": run["family"],
        "width": _width(run),
        "seed": run["seed"],
        "status": metrics["status"],
        "run": str(run_dir),
    }
    if not run.get("grids"):
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
                "params": int(last["params"]),
                "train_loss": float(last["loss"]),
                "wall_s": float(last["wall_s"]),
                **{m: float(last[m]) for m in METRICS},
            }
        )
    return rows


def collect(runs: list[dict[str, Any]], out: Path, failures: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of every planned run: its results when finished, else a row saying it failed or did not run."""
    rows = []
    for r in runs:
        run_dir = out / "runs" / r["id"]
        if (run_dir / "metrics.json").exists():
            rows += rows_of_run(r, run_dir)
        else:
            rows.append(
                {
                    "family": r["family"],
                    "width": _width(r),
                    "seed": r["seed"],
                    "grid": "",
                    "params": "",
                    "status": f"failed: {failures.get(r['id'], 'not run')}",
                    "run": str(run_dir),
                }
            )
    return rows


def read_results(sweep_dir: Path) -> list[dict[str, Any]]:
    with (sweep_dir / "results.csv").open() as fh:
        return list(csv.DictReader(fh))
