"""Figures: training curves and solution/error fields (scaling figures live in sweep)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.tri import Triangulation  # noqa: E402

from pinnkan.metrics import ALL_METRICS, pde_residual  # noqa: E402
from pinnkan.output import atomic_write  # noqa: E402

LOSS_KEYS = ("loss", "pde_loss", "bc_loss", "ic_loss")
ERROR_KEYS = ALL_METRICS


def save(fig, path: str | Path) -> None:
    """Save a figure atomically and close it."""
    atomic_write(path, lambda p: fig.savefig(p, format="png", dpi=110, bbox_inches="tight"))
    plt.close(fig)


def _column(rows: Sequence[dict[str, Any]], key: str) -> np.ndarray:
    return np.array([float(r.get(key, "nan") or "nan") for r in rows])


def loss_curves(runs: dict[str, Sequence[dict[str, Any]]], path: str | Path) -> None:
    """Losses (left) and test errors (right) against step, log scale; one or more runs."""
    fig, (ax_l, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    styles = ["-", "--", ":", "-."]
    for j, (label, rows) in enumerate(runs.items()):
        steps = _column(rows, "step")
        prefix = f"{label}: " if len(runs) > 1 else ""
        for i, key in enumerate(LOSS_KEYS):
            y = _column(rows, key)
            if np.isfinite(y).any():
                ax_l.semilogy(steps, y, styles[j % 4], color=f"C{i}", label=prefix + key)
        for i, key in enumerate(ERROR_KEYS):
            y = _column(rows, key)
            if np.isfinite(y).any():
                ax_e.semilogy(steps, y, styles[j % 4], color=f"C{i}", label=prefix + key)
        # mark grid extensions / phase changes
        phases = [r.get("phase", "") for r in rows]
        for k in range(1, len(phases)):
            if phases[k] != phases[k - 1]:
                for ax in (ax_l, ax_e):
                    ax.axvline(steps[k - 1], color="0.8", lw=0.8, zorder=0)
    ax_l.set(xlabel="step", ylabel="training loss", title="losses")
    ax_e.set(xlabel="step", ylabel="test error", title="test errors")
    for ax in (ax_l, ax_e):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    save(fig, path)


def _slices(problem, tracker) -> list[tuple[str, np.ndarray]]:
    """(title, points (M, D)) of each picture to draw: the test grid in 1-D and 2-D; for D > 2 a 101 x 101
    grid in the first two coordinates through the centre of the bounding box, at the start, middle and end
    time for a problem with time, kept where inside the domain."""
    d = problem.dim
    if d <= 2:
        if tracker.measure in ("exact", "reference"):
            return [("", tracker.x.detach().cpu().double().numpy())]
        return [("", problem.test_points())]
    lo, hi = problem.domain.bounds()
    a, b = np.meshgrid(np.linspace(lo[0], hi[0], 101), np.linspace(lo[1], hi[1], 101), indexing="ij")
    base = np.tile((lo + hi) / 2, (a.size, 1))
    base[:, 0], base[:, 1] = a.ravel(), b.ravel()
    others = [c for c in problem.coords[2:] if c != problem.time]
    centre = f" ({', '.join(f'{c} at the centre' for c in others)})" if others else ""
    if problem.time is None:
        return [(f"slice{centre}", base[problem.domain.contains(base)])]
    k = problem.coords.index(problem.time)
    out = []
    for t in (lo[k], (lo[k] + hi[k]) / 2, hi[k]):
        pts = base.copy()
        pts[:, k] = t
        out.append((f"{problem.time} = {t:.3g}{centre}", pts[problem.domain.contains(pts)]))
    return out


def _triangles(problem, pts: np.ndarray) -> Triangulation:
    """Delaunay triangles of the drawn points without those whose centre lies outside the domain (a hole,
    the notch of an L)."""
    tri = Triangulation(pts[:, 0], pts[:, 1])
    centre = pts[tri.triangles].mean(axis=1)
    tri.set_mask(~problem.domain.contains(centre))
    return tri


def solution_fields(problem, model, tracker, path: str | Path) -> None:
    """Exact (or reference), predicted and |error| fields, or, with no solution known, predicted and
    |residual|; 2-D slices for D > 2 (snapshots in time for a problem with time). Nothing is drawn
    outside the domain."""
    slices = _slices(problem, tracker)
    axes = list(problem.coords[:2])
    param = next(model.parameters())
    known = tracker.measure in ("exact", "reference")
    n_fields = len(problem.fields)
    if problem.dim == 1:
        pts = slices[0][1]
        pred, ref, residual = _values(problem, model, tracker, pts, param, known)
        fig, axs = plt.subplots(n_fields, 2, figsize=(10, 3.5 * n_fields), squeeze=False)
        order = np.argsort(pts[:, 0])
        for f, name in enumerate(problem.fields):
            if known:
                axs[f, 0].plot(pts[order, 0], ref[order, f], label="exact")
            axs[f, 0].plot(pts[order, 0], pred[order, f], "--", label="predicted")
            axs[f, 0].set(xlabel=axes[0], ylabel=name)
            axs[f, 0].legend()
            err = np.abs(pred - ref)[order, f] if known else residual[order]
            axs[f, 1].semilogy(pts[order, 0], err + 1e-300)
            axs[f, 1].set(xlabel=axes[0], ylabel=f"|error| {name}" if known else "|residual|")
        save(fig, path)
        return
    columns = 3 if known else 2
    rows = n_fields * len(slices)
    fig, axs = plt.subplots(rows, columns, figsize=(5.4 * columns, 4.2 * rows), squeeze=False)
    ref_label = "exact" if tracker.measure == "exact" else "reference"
    for s_i, (where, pts) in enumerate(slices):
        pred, ref, residual = _values(problem, model, tracker, pts, param, known)
        tri = _triangles(problem, pts)
        suffix = f", {where}" if where else ""
        for f, name in enumerate(problem.fields):
            row = s_i * n_fields + f
            if known:
                panels = [
                    (f"{ref_label} {name}", ref[:, f]),
                    (f"predicted {name}", pred[:, f]),
                    (f"|error| {name}", np.abs(pred[:, f] - ref[:, f])),
                ]
                vmin, vmax = ref[:, f].min(), ref[:, f].max()
            else:
                panels = [(f"predicted {name}", pred[:, f]), ("|PDE residual| (no solution known)", residual)]
                vmin, vmax = pred[:, f].min(), pred[:, f].max()
            for c, (title, vals) in enumerate(panels):
                ax = axs[row, c]
                field = c < columns - 1
                if field:
                    kw = {"vmin": vmin, "vmax": vmax}
                elif not known:  # residuals span decades: corners and rims against the bulk
                    top = max(float(vals.max()), 1e-300)
                    kw = {"norm": LogNorm(vmin=max(float(vals.min()), top * 1e-8, 1e-300), vmax=top)}
                else:
                    kw = {}
                im = ax.tripcolor(tri, vals, shading="gouraud", cmap="viridis" if field else "magma", **kw)
                fig.colorbar(im, ax=ax)
                ax.set(xlabel=axes[0], ylabel=axes[1], title=title + suffix)
                ax.set_aspect("equal" if problem.time not in axes else "auto")
    fig.tight_layout()
    save(fig, path)


def _values(problem, model, tracker, pts: np.ndarray, param, known: bool):
    """Prediction (M, F), the solution (M, F) where known (else None) and |residual| (M,) where not."""
    x = torch.as_tensor(pts, dtype=param.dtype, device=param.device)
    with torch.no_grad():
        pred = model(x).double().cpu().numpy()
    if tracker.measure == "exact":
        with torch.no_grad():
            return pred, problem.exact(x.double()).double().cpu().numpy(), None
    if known and problem.dim <= 2:  # a computed reference: drawn on its own test points
        return pred, tracker.u.double().cpu().numpy(), None
    if known:  # in more dimensions the slices cut through its grid: interpolated there
        from scipy.interpolate import RegularGridInterpolator

        axes, values = problem.reference()
        ref = RegularGridInterpolator(axes, values, bounds_error=False, fill_value=np.nan)(pts)
        return pred, ref.reshape(len(pts), -1), None
    return pred, None, pde_residual(problem, model, x, "autograd").double().cpu().numpy()
