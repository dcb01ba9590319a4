"""`pinnkan suite`: every registered problem on its defaults, into results.md and results.csv."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from pinnkan.config import defaults, set_key
from pinnkan.errors import UserError
from pinnkan.output import write_csv, write_text

COLUMNS = ("problem", "surrogate", "params", "mse", "rel_l2", "rel_h1", "wall_s", "status")


def markdown(rows: list[dict[str, Any]], stamp: str, command: str) -> str:
    lines = [
        f"Produced by `{command}` on {stamp}.",
        "",
        "| problem | surrogate | params | mse | rel_l2 | rel_h1 | wall s | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def fmt(v):
            return f"{v:.2e}" if isinstance(v, float) else str(v)

        lines.append(
            f"| {r['problem']} | {r['surrogate']} | {r['params']} | {fmt(r['mse'])} | {fmt(r['rel_l2'])} | "
            f"{fmt(r['rel_h1'])} | {r['wall_s']} | {r['status']} |"
        )
    return "\n".join(lines) + "\n"


def run_suite(problems: list[str], model: str, out: Path, sets: list[str], echo: bool = True) -> list[dict]:
    from pinnkan.runfolder import solve_config, summary_line

    rows = []
    for name in problems:
        cfg = defaults()
        cfg["problem"]["name"] = name
        cfg["model"]["kind"] = model
        cfg["run"]["out"] = str(out / "runs" / name)
        cfg["run"]["progress"] = False
        for item in sets:
            key, _, value = item.partition("=")
            set_key(cfg, key.strip(), value.strip())
        try:
            m = solve_config(cfg, echo=False)
            row = {
                "problem": name,
                "surrogate": f"{model} {m['width']}" + (f" G={m['grid']}" if m.get("grid") else ""),
                "params": m["params"],
                **{k: m[k] for k in ("mse", "rel_l2", "rel_h1", "wall_s", "status")},
            }
            if echo:
                print(summary_line(m, cfg["run"]["out"]), file=sys.stderr)
        except UserError:
            raise
        except Exception as exc:  # one failing problem does not stop the table
            row = {
                "problem": name,
                "surrogate": model,
                "params": "",
                "mse": "",
                "rel_l2": "",
                "rel_h1": "",
                "wall_s": "",
                "status": f"failed: {type(exc).__name__}: {exc}",
            }
            if echo:
                print(f"{name}: {row['status']}", file=sys.stderr)
        rows.append(row)
        write_csv(out / "results.csv", rows, COLUMNS)
    return rows


def cmd_suite(args: argparse.Namespace) -> int:
    from pinnkan.registry import builtin_problems

    known = list(builtin_problems())
    problems = args.problems.split(",") if args.problems else known
    for p in problems:
        if p not in known:
            raise UserError(f"unknown problem {p!r}; known: {', '.join(known)}")
    out = Path(args.out or f"runs/suite-{args.model}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out)!r} cannot be written: {exc.strerror}") from None
    rows = run_suite(problems, args.model, out, args.set)
    command = "pinnkan suite" + "".join(f" {a}" for a in sys.argv[2:])
    write_text(out / "results.md", markdown(rows, time.strftime("%Y-%m-%d"), command))
    print(f"wrote {out / 'results.md'} and {out / 'results.csv'}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "suite",
        help="run every problem on its defaults, write results.md/csv",
        description="Run every registered problem with its default configuration.",
    )
    p.add_argument("--problems", help="comma-separated subset (default: all)")
    from pinnkan.surrogates import SURROGATES

    p.add_argument("--model", choices=tuple(SURROGATES), default="kan", help="surrogate (default kan)")
    p.add_argument("--out", help="output folder (default runs/suite-<model>-<timestamp>)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="a setting for every run")
    p.set_defaults(func=cmd_suite)
