"""`pinnkan suite`: every registered problem on its defaults, into results.md and results.csv."""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pinnkan.config import defaults, set_key
from pinnkan.errors import UserError
from pinnkan.output import write_csv, write_text

COLUMNS = ("problem", "surrogate", "seed", "params", "mse", "rel_l2", "rel_h1", "wall_s", "status", "outcome")


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per problem: medians over its seeds, the rel_l2 range, and ok only if every seed was."""
    out = []
    for name in dict.fromkeys(r["problem"] for r in rows):
        mine = [r for r in rows if r["problem"] == name]
        done = [r for r in mine if isinstance(r["rel_l2"], float)]
        row = {"problem": name, "surrogate": mine[0]["surrogate"], "seeds": len(mine), "params": mine[0]["params"]}
        row["outcome"] = ", ".join(dict.fromkeys(str(r.get("outcome", "")) for r in mine if r.get("outcome")))
        if done:
            for k in ("mse", "rel_l2", "rel_h1", "wall_s"):  # a figure a problem has none of (no H1) stays empty
                values = [r[k] for r in done if isinstance(r.get(k), (int, float))]
                row[k] = float(statistics.median(values)) if values else ""
            row["rel_l2_range"] = (min(r["rel_l2"] for r in done), max(r["rel_l2"] for r in done))
        bad = [r["status"] for r in mine if r["status"] != "ok"]
        row["status"] = "ok" if not bad else f"{len(bad)} of {len(mine)}: {bad[0]}"
        out.append(row)
    return out


def code_version() -> str:
    """pinnkan's version and, in a git checkout, its commit (a '+' when the tree has changes)."""
    from pinnkan import __version__

    here = Path(__file__).resolve().parent
    try:
        git = ["git", "-C", str(here)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
        return f"pinnkan {__version__}, commit {commit.stdout.strip()}{'+' if dirty.stdout.strip() else ''}"
    except (OSError, subprocess.CalledProcessError):
        return f"pinnkan {__version__}"


def markdown(rows: list[dict[str, Any]], stamp: str, command: str) -> str:
    """The table of results.md: one row per problem; with several seeds, medians and the rel_l2 range."""
    summary = summarise(rows)
    several = any(r["seeds"] > 1 for r in summary)
    lines = [f"Produced by `{command}` on {stamp}."]
    if several:
        lines.append("Medians over the seeds; rel_l2 range [min, max] beside the median.")
    lines += [
        "",
        "| problem | surrogate | params | mse | rel_l2 | rel_h1 | wall s | status | outcome |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(v):
        return f"{v:.2e}" if isinstance(v, float) else str(v)

    for r in summary:
        rel = fmt(r.get("rel_l2", ""))
        if several and "rel_l2_range" in r:
            lo, hi = r["rel_l2_range"]
            rel += f" [{lo:.2e}, {hi:.2e}]"
        wall = f"{r['wall_s']:.1f}" if isinstance(r.get("wall_s"), float) else ""
        lines.append(
            f"| {r['problem']} | {r['surrogate']} | {r['params']} | {fmt(r.get('mse', ''))} | {rel} | "
            f"{fmt(r.get('rel_h1', ''))} | {wall} | {r['status']} | {r.get('outcome', '')} |"
        )
    return "\n".join(lines) + "\n"


def _row(name: str, m: dict[str, Any]) -> dict[str, Any]:
    adaptive = m.get("adaptive") or {}
    outcome = adaptive.get("outcome", "")
    if adaptive and not adaptive.get("trusted", True):
        outcome += " (untrusted)"
    return {
        "problem": name,
        "surrogate": f"{m['model']} {m['width']}" + (f" G={m['grid']}" if m.get("grid") else ""),
        "seed": m["seed"],
        "params": m["params"],
        **{k: m.get(k, "") for k in ("mse", "rel_l2", "rel_h1", "wall_s", "status")},
        "outcome": outcome,
    }


def run_suite(
    problems: list[str],
    model: str | None,
    out: Path,
    sets: list[str],
    echo: bool = True,
    seeds: int = 1,
    keep: bool = False,
) -> list[dict]:
    """Every problem on its defaults (``model`` None: each problem's own surrogate), with seeds 0..seeds-1
    (each run in runs/<problem>[/seed<k>]). A problem is a registered name or a problem file's path (its row
    and run folder take the file's stem). ``keep``: a run whose folder is already complete is read, not
    run again."""
    import json

    from pinnkan.runfolder import solve_config, summary_line

    rows = []
    for problem in problems:
        name = Path(problem).stem if problem.endswith(".py") else problem
        for seed in range(seeds):
            cfg = defaults()
            cfg["problem"]["name"] = problem
            cfg["model"]["kind"] = model
            cfg["run"]["out"] = str(out / "runs" / name / (f"seed{seed}" if seeds > 1 else ""))
            done = Path(cfg["run"]["out"]) / "metrics.json"
            if keep and done.is_file():
                rows.append(_row(name, json.loads(done.read_text())))
                write_csv(out / "results.csv", rows, COLUMNS)
                continue
            cfg["run"]["progress"] = False
            for item in sets:
                key, _, value = item.partition("=")
                set_key(cfg, key.strip(), value.strip())
            if seeds > 1:
                cfg["run"]["seed"] = seed
            try:
                m = solve_config(cfg, echo=False)
                row = _row(name, m)
                if echo:
                    print(summary_line(m, cfg["run"]["out"]), file=sys.stderr)
            except Exception as exc:  # one failing or refused run does not stop the table
                row = dict.fromkeys(COLUMNS, "")
                row.update(problem=name, surrogate=model or "default", seed=cfg["run"]["seed"])
                what = "refused" if isinstance(exc, UserError) else f"failed: {type(exc).__name__}"
                row["status"] = f"{what}: {exc}"
                if echo:
                    print(f"{name}: {row['status']}", file=sys.stderr)
            rows.append(row)
            write_csv(out / "results.csv", rows, COLUMNS)
            if row.get("status") == "interrupted":  # Ctrl-C or SIGTERM ends the suite, not just this run
                if echo:
                    print(f"pinnkan suite: stopped at {name}; --keep goes on from the runs complete", file=sys.stderr)
                return rows
    return rows


def problem_files(folder: str) -> list[str]:
    """The problem files (``*.py``, sorted) of a folder; a UserError when there are none."""
    d = Path(folder)
    if not d.is_dir():
        raise UserError(f"--dir {folder!r} is not a folder")
    files = sorted(str(p) for p in d.glob("*.py") if not p.name.startswith("_"))
    if not files:
        raise UserError(f"--dir {folder!r} holds no problem files (*.py)")
    return files


def cmd_suite(args: argparse.Namespace) -> int:
    from pinnkan.registry import builtin_problems

    if args.dir:
        known = problem_files(args.dir)
        by_stem = {Path(f).stem: f for f in known}
        problems = [by_stem.get(p, p) for p in args.problems.split(",")] if args.problems else known
        for p in problems:
            if p not in known:
                raise UserError(f"no problem file {p!r} in {args.dir!r}; it has {', '.join(by_stem)}")
    else:
        known = list(builtin_problems())
        problems = args.problems.split(",") if args.problems else known
        for p in problems:
            if p not in known:
                raise UserError(f"unknown problem {p!r}; known: {', '.join(known)}")
    out = Path(args.out or f"runs/suite-{args.model or 'defaults'}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out)!r} cannot be written: {exc.strerror}") from None
    if args.seeds < 1:
        raise UserError("--seeds must be at least 1")
    stamp = f"{time.strftime('%Y-%m-%d')} ({code_version()})"  # the code the runs start with
    rows = run_suite(problems, args.model, out, args.set, seeds=args.seeds, keep=args.keep)
    command = "pinnkan suite" + "".join(f" {a}" for a in sys.argv[2:])
    write_text(out / "results.md", markdown(rows, stamp, command))
    print(f"wrote {out / 'results.md'} and {out / 'results.csv'}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "suite",
        help="run every problem on its defaults, write results.md/csv",
        description="Run every registered problem with its default configuration.",
    )
    p.add_argument("--problems", help="comma-separated subset (default: all)")
    p.add_argument("--dir", help="a folder of problem files (*.py) to run instead of the registered problems")
    p.add_argument("--keep", action="store_true", help="read the runs already complete in --out instead of rerunning")
    from pinnkan.surrogates import SURROGATES

    p.add_argument(
        "--model", choices=tuple(SURROGATES), default=None, help="surrogate (default: each problem's own, else kan)"
    )
    p.add_argument("--out", help="output folder (default runs/suite-<model or defaults>-<timestamp>)")
    p.add_argument(
        "--seeds", type=int, default=1, help="runs per problem, seeds 0..N-1: results.md shows medians and ranges"
    )
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="a setting for every run")
    p.set_defaults(func=cmd_suite)
