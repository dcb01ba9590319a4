"""`pinnkan check FILE`: what pinnkan understood of a problem, without training.

Prints the coordinates (and which is time, and why), the fields, the domain and
its boundary parts with their measures, each condition with its parts, fields,
point count and the partials it reads, the partials the residual reads and how
many equations it gives, whether a solution is known, the training plan, and
every problem found (each one line). Draws the domain with the sampled points of
each condition, coloured by condition, so that a mistake in geometry is seen.
Exit code 0 when nothing is wrong, 2 when something is.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from pinnkan.errors import UserError


def _describe_parts(problem) -> list[str]:
    d = problem.domain
    out = []
    for part in d.parts(problem.coords):
        try:
            out.append(f"{part} ({d.part_measure(problem.coords, part):.4g})")
        except Exception as exc:  # a part the set operation cannot measure: say so, go on
            out.append(f"{part} (cannot measure: {exc})")
    return out


def _time_note(problem) -> str:
    if problem.time is None:
        return "none"
    declared = type(problem).time is not None
    how = (
        "declared"
        if declared
        else (
            "the SpaceTime's last axis"
            if type(problem.domain).__name__ == "SpaceTime"
            else f"the coordinate named {problem.time!r}"
        )
    )
    return f"{problem.time} ({how})"


def _solution_note(problem) -> str:
    if problem.has_exact:
        return "exact solution (exact())"
    if problem.has_reference:
        return "computed reference on a grid (reference())"
    if problem.has_reference_points:
        return "reference values at points (reference_points())"
    return "none: errors are check-set residuals (or give --reference FILE)"


def report(problem, cfg: dict[str, Any]) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """(lines to print, problems found, sampled points per condition name plus "interior")."""
    from pinnkan.solve import TORCH_DTYPES, prepare
    from pinnkan.validation import check_problem

    lines = [f"problem      {problem.name}: {problem.description}"]
    lines.append(f"coordinates  {', '.join(problem.coords)}; time: {_time_note(problem)}")
    lines.append(f"fields       {', '.join(problem.fields)}")
    lo, hi = problem.domain.bounds()
    box = " x ".join(f"[{a:g}, {b:g}]" for a, b in zip(lo, hi))
    lines.append(f"domain       {type(problem.domain).__name__} in {box}, measure {problem.domain.measure():.4g}")
    lines.append(f"  parts      {', '.join(_describe_parts(problem))}")
    issues: list[str] = []
    points: dict[str, np.ndarray] = {}
    data = cfg.get("data", {})
    try:
        layout = problem.jet_layout()
        lines.append(f"residual     reads {layout.describe(problem.coords)}")
    except Exception as exc:
        issues.append(f"residual: {exc}")
    for i, (name, cond) in enumerate(zip(problem.condition_names, problem.conditions)):
        kind = type(cond).__name__
        n = data.get("n_initial") if cond.kind == "ic" else data.get("n_boundary")
        parts = getattr(cond, "faces", None)
        fields = getattr(cond, "fields", None) or problem.fields
        try:
            pts = cond.points(problem, int(n or 800), seed=101 * (i + 1))
            points[name] = np.asarray(pts)
            count = f"{len(pts)} points"
        except Exception as exc:
            issues.append(f"condition {name!r}: {exc}")
            count = "no points"
        try:
            reads = problem.condition_layout(i).describe(problem.coords)
        except Exception as exc:
            reads = "?"
            if not any(name in s for s in issues):
                issues.append(f"condition {name!r}: {exc}")
        where = f" on {', '.join(parts) if parts else 'the start time'}" if parts is not None else ""
        lines.append(f"condition    {name}: {kind}{where}, fields {', '.join(fields)}, {count}, reads {reads}")
    lines.append(f"solution     {_solution_note(problem)}")
    try:
        points["interior"] = problem.interior(int(data.get("n_interior") or 2000), seed=0)
    except Exception as exc:
        issues.append(f"interior points: {exc}")
    if cfg.get("plan"):
        from pinnkan.runfolder import plan_lines

        lines.append("plan")
        lines += [f"  {line}" for line in plan_lines(cfg)]
    if not issues:
        try:
            model, engine = prepare(problem, cfg["model"]["kind"], cfg)
            check_problem(problem, model.to(TORCH_DTYPES["float64"]), engine)
            lines.append(f"model        {model.kind} {cfg['model']['width']}, {model.n_params} parameters")
        except UserError as exc:
            issues.append(str(exc))
        except Exception as exc:  # the user's code failing somewhere the checks did not foresee
            issues.append(f"{type(exc).__name__}: {exc}")
    return lines, issues, points


def draw(problem, points: dict[str, np.ndarray], path: Path) -> None:
    """The domain's sampled points: interior in grey, each condition's in its colour; for more than two
    coordinates the first two (and, with time, the first against time)."""
    import matplotlib.pyplot as plt

    from pinnkan.plots import save

    coords = problem.coords
    pairs = [(0, 1)] if problem.dim >= 2 else [(0, None)]
    if problem.dim > 2 and problem.time in coords and coords.index(problem.time) not in (0, 1):
        pairs.append((0, coords.index(problem.time)))
    fig, axes = plt.subplots(1, len(pairs), figsize=(6.2 * len(pairs), 5.4), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (a, b) in zip(axes[0], pairs):
        ordered = sorted(points.items(), key=lambda item: item[0] != "interior")  # interior first, below
        for j, (name, pts) in enumerate(ordered):
            if len(pts) == 0:
                continue
            y = pts[:, b] if b is not None else np.full(len(pts), float(j))
            few = len(pts) < 50  # a gauge or a few sensors: large enough to be seen
            style = {"s": 1.5, "c": "0.75"} if name == "interior" else {"s": 40 if few else 5, "color": colours(j % 10)}
            ax.scatter(pts[:, a], y, label=f"{name} ({len(pts)})", **style)
        ax.set_xlabel(coords[a])
        ax.set_ylabel(coords[b] if b is not None else "")
        if b is not None and problem.time not in (coords[a], coords[b]):
            ax.set_aspect("equal")
        ax.legend(fontsize=7, markerscale=3, loc="upper right")
    fig.suptitle(f"{problem.name}: sampled points by condition")
    fig.tight_layout()
    save(fig, path)


def cmd_check(args: argparse.Namespace) -> int:
    from pinnkan.cli import config_from_args
    from pinnkan.solve import configure, load_problem

    cfg = config_from_args(args, args.problem)
    params = {k: v for k, v in cfg["problem"].items() if k != "name"}
    problem = load_problem(args.problem, **params)
    issues: list[str] = []
    try:
        resolved = configure(problem, cfg["model"]["kind"], cfg, {})
    except UserError as exc:
        issues.append(str(exc))
        resolved = {"data": {}, "model": {"kind": None}}
    lines, found, points = report(problem, resolved)
    issues += [f for f in found if f not in issues]
    print("\n".join(lines))
    out = Path(cfg["run"]["out"] or f"{Path(args.problem).stem}-check.png")
    if points:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            draw(problem, points, out)
            print(f"picture      {out}")
        except OSError as exc:
            issues.append(f"cannot write {str(out)!r}: {exc.strerror or exc}")
    if issues:
        print(f"problems found ({len(issues)}):")
        for issue in issues:
            print(f"  {issue}")
        return 2
    print("problems found: none")
    return 0


def register(sub) -> None:
    from pinnkan.cli import add_solve_options

    p = sub.add_parser(
        "check",
        help="show what pinnkan understood of a problem file, and its plan, without training",
        description=(
            "Read PROBLEM (a registered name or a .py file) and print its coordinates, fields, domain parts, "
            "conditions, the partials each reads, whether a solution is known, the training plan and every "
            "problem found; draw the sampled points of each condition (a PNG)."
        ),
    )
    p.add_argument("problem", help="registered problem or a path to a problem .py file")
    add_solve_options(p)
    p.set_defaults(func=cmd_check)
