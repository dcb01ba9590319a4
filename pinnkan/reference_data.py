"""Reference data a user brings instead of an exact solution: ``--reference FILE``.

A CSV with a header, or an NPZ with one 1-D array per column, naming every
coordinate and the fields it knows (``x, y, u``; a field without a column, or a
NaN entry, is unknown there: a cavity's centre-line velocities give u on one line
and v on another, never p); gradient columns ``d<field>_d<coord>`` (as ``pinnkan
eval`` writes them) are optional, all or none, and give the H1-type errors.
Other columns are ignored, so an eval table can serve as reference for another
run. Points farther outside the domain than :data:`BOUNDARY_TOLERANCE` of its
size are refused.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pinnkan.errors import UserError


@dataclass(frozen=True)
class ReferenceData:
    """Points x (M, D), values u (M, F) and, when given, gradients grad (M, D, F)."""

    x: np.ndarray
    u: np.ndarray
    grad: np.ndarray | None


def _columns(path: Path, option: str) -> dict[str, np.ndarray]:
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            return {k: np.asarray(z[k], dtype=np.float64) for k in z.files if np.ndim(z[k]) == 1}
    if suffix not in (".csv", ".txt"):
        raise UserError(f"{option} {str(path)!r}: give a .csv (with a header) or .npz file")
    rows = [r for r in csv.reader(io.StringIO(path.read_text())) if r and any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"{option} {str(path)!r} is empty")
    header = [c.strip() for c in rows[0]]
    try:
        body = np.array([[float(c) for c in r] for r in rows[1:]], dtype=np.float64).reshape(-1, len(header))
    except ValueError:
        raise UserError(f"{option} {str(path)!r}: every row after the header must be {len(header)} numbers") from None
    return {name: body[:, k] for k, name in enumerate(header)}


def read_columns(path: Path, option: str = "--reference") -> dict[str, np.ndarray]:
    """Every named column of a CSV (with header) or NPZ (1-D arrays) as float64; errors name ``option``."""
    try:
        return _columns(path, option)
    except (OSError, ValueError) as exc:
        raise UserError(f"{option} {str(path)!r} cannot be read: {str(exc).splitlines()[0]}") from None


def read_reference(path: str | Path, problem) -> ReferenceData:
    """The reference data in ``path`` for ``problem`` (its coords and fields); a UserError for bad input."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"--reference {str(p)!r}: no such file")
    cols = read_columns(p)
    return reference_from_columns(problem, cols, f"--reference {str(p)!r}")


def reference_from_columns(problem, cols: dict[str, np.ndarray], source: str) -> ReferenceData:
    """ReferenceData from named columns: every coordinate, at least one field (a field without a column, or a
    NaN entry, is not known there), optionally every gradient column; a UserError naming ``source``."""
    coords, fields = tuple(problem.coords), tuple(problem.fields)
    missing = [c for c in coords if c not in cols]
    if missing or not any(f in cols for f in fields):
        lack = missing or ([fields[0]] if len(fields) == 1 else [f"one of the fields {', '.join(fields)}"])
        raise UserError(
            f"{source}: columns {', '.join(cols) or 'none'} lack {', '.join(lack)} "
            f"(the problem's coords {', '.join(coords)} and fields {', '.join(fields)})"
        )
    x = np.stack([cols[c] for c in coords], axis=1)
    if len(x) == 0:
        raise UserError(f"{source} holds no points")
    u = np.stack([cols[f] if f in cols else np.full(len(x), np.nan) for f in fields], axis=1)
    grad_names = [f"d{f}_d{c}" for f in fields for c in coords]
    present = [g for g in grad_names if g in cols]
    if present and len(present) != len(grad_names):
        lacking = [g for g in grad_names if g not in cols]
        raise UserError(f"{source}: gradient columns are all or none; lacking {', '.join(lacking)}")
    grad = None
    if present:
        grad = np.stack([np.stack([cols[f"d{f}_d{c}"] for f in fields], axis=1) for c in coords], axis=1)
    finite = np.isfinite(x).all(1) & np.isfinite(u).any(1)
    if grad is not None:
        finite &= (np.isfinite(grad) | ~np.isfinite(u)[:, None, :]).all((1, 2))
    if not finite.all():
        raise UserError(
            f"{source}: {int((~finite).sum())} row(s) with NaN or infinite entries "
            f"(first at data row {int(np.argmin(finite))})"
        )
    refuse_outside(problem, x, source)
    return ReferenceData(x, u, grad)


# points of data files this close to the domain (relative to its size, the longest side of its bounding box)
# count as inside: a coordinate printed to 12 digits lands up to ~1e-12 off the boundary it lies on
BOUNDARY_TOLERANCE = 1e-6


def outside(problem, x: np.ndarray) -> np.ndarray:
    """(N,) bool: the points x (N, D) farther than BOUNDARY_TOLERANCE (relative) outside the problem's domain."""
    import torch

    domain = problem.domain
    gap = domain.signed_distance(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy()
    return gap > BOUNDARY_TOLERANCE * domain.scale


def refuse_outside(problem, x: np.ndarray, source: str, error: type[Exception] = UserError) -> None:
    """``error`` (one line, naming ``source``) if any of the data points x (N, D) lies outside the domain by more
    than BOUNDARY_TOLERANCE of its size."""
    far = outside(problem, x)
    if far.any():
        raise error(
            f"{source}: {int(far.sum())} point(s) lie outside the problem's domain by more than "
            f"{BOUNDARY_TOLERANCE:g} of its size (first at data row {int(np.argmax(far))}); refused"
        )
