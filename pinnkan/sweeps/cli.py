"""`pinnkan sweep` and `pinnkan plot`."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from pinnkan.errors import UserError
from pinnkan.sweeps.executors import EXECUTORS
from pinnkan.sweeps.run import redraw, run_sweep


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
        help="scaling-law sweep of surrogate families",
        description="Run a scaling sweep (see configs/scaling_poisson.toml); resumable.",
    )
    p.add_argument("config", help="sweep TOML file")
    p.add_argument("--out", help="output folder (default runs/sweep-<config name>); reuse it to resume")
    p.add_argument("--workers", type=int, default=1, help="parallel runs (default 1)")
    p.add_argument("--executor", choices=EXECUTORS, default="local", help="local processes or Ray tasks")
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
