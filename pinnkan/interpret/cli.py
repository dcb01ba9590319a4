"""``pinnkan inspect``, ``pinnkan prune`` and ``pinnkan symbolic``: looking inside a solved run's KAN."""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

from pinnkan.errors import UserError


def cmd_inspect(args: argparse.Namespace) -> int:
    from pinnkan.interpret.diagram import draw_network
    from pinnkan.interpret.edges import require_kan
    from pinnkan.interpret.symbolic import sample_points
    from pinnkan.runfolder import load_run

    problem, model, cfg = load_run(args.run)
    kan = require_kan(model, "pinnkan inspect")
    out = Path(args.out) if args.out else Path(args.run) / "network.png"
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise UserError(f"--out {str(out)!r}: give a .png, .pdf or .svg file")
    edges = draw_network(kan, sample_points(problem, cfg), out, (list(problem.coords), list(problem.fields)))
    drawn = sum(int(e.mask.sum()) for e in edges)
    for layer, e in enumerate(edges):
        imp = e.importance
        live = imp[e.mask > 0]
        print(
            f"layer {layer}: {int(e.mask.sum())} edges, importance (mean |phi|) "
            f"min {float(live.min()):.3g}, median {float(live.median()):.3g}, max {float(live.max()):.3g}"
        )
    print(f"{drawn} edges drawn -> {out}")
    return 0


def _main_phase(optimizer: str) -> str:
    return optimizer.split("+")[-1]


def cmd_prune(args: argparse.Namespace) -> int:
    import torch

    from pinnkan.interpret.edges import require_kan
    from pinnkan.interpret.prune import prune
    from pinnkan.interpret.symbolic import sample_points
    from pinnkan.jet import resolve_engine
    from pinnkan.metrics import ErrorTracker
    from pinnkan.output import RunDir
    from pinnkan.runfolder import load_run, write_run
    from pinnkan.solve import TORCH_DTYPES, train
    from pinnkan.training import signals

    problem, model, cfg = load_run(args.run)
    kan = require_kan(model, "pinnkan prune")
    if args.steps is not None and args.steps < 1:
        raise UserError("--steps must be >= 1")
    out = args.out or f"{str(args.run).rstrip('/')}-pruned"
    dtype = TORCH_DTYPES[cfg["run"]["dtype"]]
    tracker = ErrorTracker(problem, dtype=dtype)
    engine = resolve_engine(cfg["run"]["derivatives"], kan)
    before = tracker(kan, engine)
    small, report = prune(kan, sample_points(problem, cfg), args.threshold)
    run_dir = RunDir(out)
    pruned = tracker(small, engine)
    tuned = copy.deepcopy(cfg)
    tuned["model"].update(width=report.widths_after, grid=small.grid)
    steps = cfg["train"]["steps"] if args.steps is None else args.steps
    tuned["train"].update(
        optimizer=_main_phase(cfg["train"]["optimizer"]),
        steps=steps,
        adam_steps=0,
        grids=[small.grid],
        restarts=1,
    )
    tuned["run"].update(out=out, progress=not args.no_progress and cfg["run"].get("progress", True))
    with signals.deferred_signals():
        torch.manual_seed(cfg["run"]["seed"])
        try:
            solution = train(problem, small, tuned)
        except BaseException:
            run_dir.discard()
            raise
        extra = {
            "pruning": {
                **report.as_dict(),
                "threshold": args.threshold,
                "source": str(args.run),
                "fine_tune_steps": steps,
                "rel_l2_before": before["rel_l2"],
                "rel_l2_pruned": pruned["rel_l2"],
                "rel_l2_after": solution.errors["rel_l2"],
            }
        }
        write_run(solution, run_dir, extra=extra)
    print(
        f"pruned {report.widths_before} -> {report.widths_after}: {report.edges_before} -> {report.edges_after} "
        f"edges; rel_l2 {before['rel_l2']:.3e} before, {pruned['rel_l2']:.3e} pruned, "
        f"{solution.errors['rel_l2']:.3e} after {steps} fine-tuning steps -> {out}",
        file=sys.stderr,
    )
    return 0


def cmd_symbolic(args: argparse.Namespace) -> int:
    import sympy

    from pinnkan.interpret.symbolic import DEFAULT_LIBRARY, compare, parse_fixed, split_library, symbolic
    from pinnkan.output import RunDir, write_json, write_text
    from pinnkan.runfolder import load_run

    problem, model, cfg = load_run(args.run)
    library = split_library(args.library) if args.library is not None else DEFAULT_LIBRARY
    fixed = parse_fixed(args.fix)
    expected = None
    if args.expect:
        symbols = {c: sympy.Symbol(c, real=True) for c in problem.coords}
        try:
            expected = sympy.sympify(args.expect, locals=symbols)
        except (sympy.SympifyError, SyntaxError, TypeError):
            raise UserError(f"--expect {args.expect!r} is not a formula sympy can read") from None
    if args.steps < 0:
        raise UserError("--steps must be >= 0")
    out = Path(args.out) if args.out else Path(args.run) / "symbolic"
    result = symbolic(problem, model, cfg, library, fixed, steps=args.steps, tolerance=args.tolerance)
    run_dir = RunDir(out)
    print("edges (layer,in,out: function, R^2):")
    for e in result.edges:
        if e.chosen.name != "0" or not e.fixed:
            print(
                f"  {e.layer},{e.i},{e.o}: {e.chosen.name:5s} R^2 = 1 - {max(1 - e.chosen.r2, 0):.1e}"
                f"{'  (fixed)' if e.fixed else ''}"
            )
    report: dict[str, Any] = {
        "run": str(args.run),
        "formula": [str(f) for f in result.formula],
        "latex": [sympy.latex(f) for f in result.formula],
        "exact_constants": result.exact_form,
        "errors_snapped": result.errors_snapped,
        "errors": result.errors,
        **result.residual,
        "refine_steps": args.steps,
        "edges": [e.as_dict() for e in result.edges],
    }
    lines = [f"{field} = {f}" for field, f in zip(problem.fields, result.formula)]
    for line in lines:
        print(line)
    rel = result.errors.get("rel_l2")
    print(
        f"rel_l2 {result.errors_snapped.get('rel_l2', float('nan')):.3e} snapped, "
        f"{rel if rel is not None else float('nan'):.3e} after {args.steps} refining steps; "
        f"PDE residual mean {result.residual['residual_mean']:.3e}, max {result.residual['residual_max']:.3e}"
    )
    if expected is not None:
        proven, diff = compare(problem, result.formula[0], expected, problem.test_points())
        report.update(expected=args.expect, equal_to_expected=proven, rel_l2_to_expected=diff)
        if proven:
            print(f"sympy: equal to {args.expect}")
        else:
            print(f"sympy: not shown equal to {args.expect} (relative L2 difference {diff:.3e})")
    try:
        write_text(run_dir.path / "formula.txt", "\n".join(lines) + "\n")
        write_text(
            run_dir.path / "formula.tex",
            "\n".join(f"{field} = {sympy.latex(f)}" for field, f in zip(problem.fields, result.formula)) + "\n",
        )
        write_json(run_dir.path / "symbolic.json", report)
        run_dir.commit()
    except OSError as exc:
        run_dir.discard()
        raise UserError(f"cannot write to {str(out)!r}: {exc.strerror or exc}") from None
    print(f"-> {out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="draw a KAN run's network with every edge's learned function",
        description="Draw the KAN of RUN_DIR: nodes, and every edge's function over the inputs it sees, "
        "with line strength by importance (mean |phi| at the run's collocation points).",
    )
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", help="figure file (.png/.pdf/.svg; default RUN_DIR/network.png)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser(
        "prune",
        help="remove a KAN run's weak nodes and edges, fine-tune, write a new run",
        description="Prune the KAN of RUN_DIR: hidden nodes whose min(strongest in, strongest out edge) "
        "importance is below the threshold go, and edges below it are masked; then train briefly with the "
        "run's own loss and main optimizer, and write a new run folder with errors before and after.",
    )
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--threshold", type=float, default=1e-2, help="importance threshold (mean |phi|; default 0.01)")
    p.add_argument("--steps", type=int, help="fine-tuning steps (default: the run's steps per stage)")
    p.add_argument("--out", help="new run folder (default RUN_DIR-pruned)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prune)

    p = sub.add_parser(
        "symbolic",
        help="snap a KAN run's edges to symbolic functions and print its formula",
        description="Fit every edge of the KAN of RUN_DIR by a + b f(c x + d) over a function library, refine "
        "the constants on the run's PDE loss (Levenberg-Marquardt), and print the formula (sympy), its rel_l2 "
        "and PDE residual; writes formula.txt, formula.tex and symbolic.json.",
    )
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument(
        "--library",
        help="comma-separated functions: names from 0,x,x^2,x^3,abs,exp,sin,cos,tanh,sqrt,log,1/x (default: all "
        "of them) or formulas in x such as sin(x**2)",
    )
    p.add_argument(
        "--fix",
        action="append",
        default=[],
        metavar="LAYER,IN,OUT=FUNCTION",
        help="snap that edge to that function (repeatable)",
    )
    p.add_argument("--steps", type=int, default=50, help="refining steps on the PDE loss (default 50)")
    p.add_argument(
        "--tolerance",
        type=float,
        default=1e-3,
        help="the simplest function within this of the best fit's 1 - R^2 wins (default 1e-3)",
    )
    p.add_argument(
        "--expect", metavar="FORMULA", help="ask sympy whether the result equals FORMULA, e.g. 'sin(pi*x)*sin(pi*y)'"
    )
    p.add_argument("--out", help="output folder (default RUN_DIR/symbolic)")
    p.set_defaults(func=cmd_symbolic)
