"""``pinnkan eval``: a trained run's fields, gradients and PDE residual at given points, as files.

::

    pinnkan eval RUN_DIR --points pts.csv --out values.csv   # CSV / NPY / NPZ of coordinates in
    pinnkan eval RUN_DIR --grid 201 --out field.npz --vtk field.vtk

Points come from a file (CSV with or without a header naming the coordinates;
NPY of shape (N, D); NPZ with one array ``x`` of shape (N, D) or one 1-D array per
coordinate) or as a uniform grid over the domain's bounding box. Points outside the
domain are kept and flagged (column ``inside`` = 0); on a grid their values are NaN.
The table holds the coordinates, every field, its derivative by every coordinate
(``du_dx``), the residual (``residual``, or one column per residual component) and
``inside``; ``.csv`` or ``.npz`` by the output's extension. ``--vtk FILE`` also
writes a legacy VTK file ParaView opens: structured points for a 2-D/3-D grid,
vertices otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pinnkan.errors import UserError
from pinnkan.jet import compute_jet, resolve_engine
from pinnkan.layout import Layout
from pinnkan.output import atomic_write
from pinnkan.unknowns import estimates

CHUNK = 4096
MAX_GRID_POINTS = 4_000_000


def read_points(path: str | Path, coords: tuple[str, ...]) -> np.ndarray:
    """(N, D) float64 coordinates from a CSV, NPY or NPZ file; a UserError for anything else."""
    p = Path(path)
    d = len(coords)
    if not p.is_file():
        raise UserError(f"--points {str(p)!r}: no such file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".npy":
            x = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                per_coord = all(c in z.files and np.ndim(z[c]) == 1 for c in coords)
                if per_coord and not (len(coords) == 1 and "x" in z.files):
                    x = np.stack([np.asarray(z[c]) for c in coords], axis=1)
                elif "x" in z.files:
                    x = z["x"]
                else:
                    raise UserError(
                        f"--points {str(p)!r}: an NPZ needs an array 'x' (N, {d}) or one array per coordinate "
                        f"({', '.join(coords)}); it has {', '.join(z.files) or 'none'}"
                    )
        elif suffix in (".csv", ".txt"):
            x = _read_csv(p, coords)
        else:
            raise UserError(f"--points {str(p)!r}: give a .csv, .npy or .npz file")
    except (OSError, ValueError) as exc:
        raise UserError(f"--points {str(p)!r} cannot be read: {str(exc).splitlines()[0]}") from None
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise UserError(
            f"--points {str(p)!r}: expected {d} column(s) ({', '.join(coords)}), got an array of shape {x.shape}"
        )
    if len(x) == 0:
        raise UserError(f"--points {str(p)!r} holds no points")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise UserError(
            f"--points {str(p)!r}: {int(bad.sum())} point(s) with NaN or infinite coordinates "
            f"(first at row {int(np.argmax(bad))})"
        )
    return x


def _read_csv(path: Path, coords: tuple[str, ...]) -> np.ndarray:
    rows = [r for r in csv.reader(io.StringIO(path.read_text())) if r and any(c.strip() for c in r)]
    if not rows:
        return np.zeros((0, len(coords)))
    header = [c.strip() for c in rows[0]]
    try:
        [float(c) for c in header]
        body = rows
        columns = list(range(len(header)))
    except ValueError:  # a header: coordinates by name, other columns ignored
        missing = [c for c in coords if c not in header]
        if missing:
            raise UserError(
                f"--points {str(path)!r}: the header ({', '.join(header)}) lacks the coordinate(s) {', '.join(missing)}"
            ) from None
        body = rows[1:]
        columns = [header.index(c) for c in coords]
    try:
        return np.array([[float(r[i]) for i in columns] for r in body], dtype=np.float64).reshape(-1, len(columns))
    except (ValueError, IndexError):
        raise UserError(f"--points {str(path)!r}: a row is not {len(columns)} numbers") from None


def grid_points(problem, per_axis: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """All points of a uniform grid over the domain's bounding box (inside or not), and its axes."""
    if per_axis < 2:
        raise UserError("--grid must be at least 2 points per axis")
    lo, hi = problem.domain.bounds()
    total = per_axis ** len(lo)
    if total > MAX_GRID_POINTS:
        raise UserError(f"--grid {per_axis} in {len(lo)} dimensions is {total} points (at most {MAX_GRID_POINTS})")
    return problem.domain.box_grid(per_axis)


def evaluate(problem, model, x: np.ndarray, engine: str = "auto") -> dict[str, np.ndarray]:
    """Columns at points x (N, D): coordinates, fields, d<field>_d<coord>, residual(s), inside."""
    engine = resolve_engine(engine, model)
    param = next(model.parameters())
    # gradients are reported even for a residual that needs none
    layout = problem.jet_layout() | Layout.standard(problem.dim, 1)
    out: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x), CHUNK):
        xt = torch.as_tensor(x[start : start + CHUNK], dtype=param.dtype, device=param.device)
        jet = compute_jet(engine, model, xt, layout, problem.coords, problem.fields, create_graph=False)
        with estimates(problem, model):
            res = problem.residual(xt, jet)
        res = res.detach().reshape(len(xt), -1).cpu().numpy()
        cols = {}
        for j, f in enumerate(problem.fields):
            cols[f] = jet.value[:, j].detach().cpu().numpy()
            for k, c in enumerate(problem.coords):
                cols[f"d{f}_d{c}"] = jet.grad[:, k, j].detach().cpu().numpy()
        if res.shape[1] == 1:
            cols["residual"] = res[:, 0]
        else:
            for j in range(res.shape[1]):
                cols[f"residual_{j}"] = res[:, j]
        for k, v in cols.items():
            out.setdefault(k, []).append(v)
    table = {c: x[:, k] for k, c in enumerate(problem.coords)}
    table.update({k: np.concatenate(v) for k, v in out.items()})
    table["inside"] = problem.domain.contains(x).astype(np.float64)
    return table


def write_table(path: str | Path, table: dict[str, np.ndarray]) -> None:
    """CSV (header + rows) or NPZ (one array per column), by the extension; written atomically."""
    p = Path(path)
    if p.suffix.lower() == ".npz":

        def write_npz(t: Path) -> None:
            with open(t, "wb") as fh:
                np.savez(fh, **table)

        atomic_write(p, write_npz)
        return
    names = list(table)
    data = np.stack([table[n] for n in names], axis=1)

    def write(t: Path) -> None:
        with open(t, "w", newline="") as fh:
            fh.write(",".join(names) + "\n")
            np.savetxt(fh, data, delimiter=",", fmt="%.17g")

    atomic_write(p, write)


def write_vtk(path: str | Path, table: dict[str, np.ndarray], coords: tuple[str, ...], axes=None) -> None:
    """Legacy ASCII VTK: STRUCTURED_POINTS for a 2-D/3-D grid (axes given), else POLYDATA vertices."""
    data = {k: v for k, v in table.items() if k not in coords}
    lines = ["# vtk DataFile Version 3.0", "pinnkan eval", "ASCII"]
    n = len(next(iter(table.values())))
    if axes is not None and len(axes) in (2, 3):
        dims = [len(a) for a in axes] + [1] * (3 - len(axes))
        origin = [a[0] for a in axes] + [0.0] * (3 - len(axes))
        spacing = [(a[-1] - a[0]) / (len(a) - 1) for a in axes] + [1.0] * (3 - len(axes))
        lines += [
            "DATASET STRUCTURED_POINTS",
            f"DIMENSIONS {dims[0]} {dims[1]} {dims[2]}",
            f"ORIGIN {origin[0]:.17g} {origin[1]:.17g} {origin[2]:.17g}",
            f"SPACING {spacing[0]:.17g} {spacing[1]:.17g} {spacing[2]:.17g}",
        ]
        # VTK wants x fastest; the table is ordered with the first axis slowest (meshgrid "ij")
        order = np.arange(n).reshape([len(a) for a in axes]).transpose(*reversed(range(len(axes)))).ravel()
    else:
        xyz = np.zeros((n, 3))
        for k, c in enumerate(coords[:3]):
            xyz[:, k] = table[c]
        lines += ["DATASET POLYDATA", f"POINTS {n} double"]
        lines += [f"{a:.17g} {b:.17g} {c:.17g}" for a, b, c in xyz]
        lines += [f"VERTICES {n} {2 * n}"] + [f"1 {i}" for i in range(n)]
        order = np.arange(n)
    lines.append(f"POINT_DATA {n}")
    for name, values in data.items():
        v = np.where(np.isfinite(values), values, np.nan)[order]
        lines += [f"SCALARS {name} double 1", "LOOKUP_TABLE default"]
        lines += [f"{val:.17g}" if np.isfinite(val) else "nan" for val in v]
    text = "\n".join(lines) + "\n"
    atomic_write(path, lambda t: Path(t).write_text(text))


def cmd_eval(args: argparse.Namespace) -> int:
    from pinnkan.runfolder import load_run

    if (args.points is None) == (args.grid is None):
        raise UserError("pinnkan eval: give either --points FILE or --grid N")
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".npz"):
        raise UserError(f"--out {str(out)!r}: give a .csv or .npz file")
    if args.vtk and Path(args.vtk).suffix.lower() != ".vtk":
        raise UserError(f"--vtk {args.vtk!r}: give a .vtk file")
    problem, model, _ = load_run(args.run)
    axes = None
    if args.points is not None:
        x = read_points(args.points, tuple(problem.coords))
    else:
        x, axes = grid_points(problem, args.grid)
    table = evaluate(problem, model, x)
    if axes is not None:  # a grid: nothing is reported outside the domain
        outside = table["inside"] == 0
        for k, v in table.items():
            if k not in problem.coords and k != "inside":
                v[outside] = np.nan
    write_table(out, table)
    if args.vtk:
        write_vtk(args.vtk, table, tuple(problem.coords), axes)
    n_out = int((table["inside"] == 0).sum())
    flagged = f"; {n_out} outside the domain ({'NaN' if axes is not None else 'kept, inside = 0'})" if n_out else ""
    print(f"{len(x)} points{flagged} -> {out}" + (f", {args.vtk}" if args.vtk else ""), file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="a run's fields, gradients and residual at points or on a grid, as CSV/NPZ (and VTK)",
        description="Evaluate the trained model of RUN_DIR: the fields, their gradients and the PDE residual at "
        "the points of --points FILE (CSV with or without a header, NPY (N, D), NPZ with 'x' or one array per "
        "coordinate) or on a uniform --grid N over the domain's bounding box. Points outside the domain are kept "
        "and flagged (column inside = 0; NaN values on a grid).",
    )
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--points", metavar="FILE", help="coordinates: .csv, .npy or .npz")
    p.add_argument("--grid", type=int, metavar="N", help="N points per axis over the bounding box")
    p.add_argument("--out", required=True, help="output table: .csv or .npz")
    p.add_argument("--vtk", metavar="FILE", help="also write a legacy VTK file (.vtk) for ParaView")
    p.set_defaults(func=cmd_eval)
