"""A sweep's figures: error against parameters per family (scaling.png) and along grid ladders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pinnkan.sweeps.fits import families
from pinnkan.sweeps.results import METRICS

# The KAN paper's claim (Fig. 3.3) is N^-4 for squared errors (mse, h1_mse); on the
# unsquared relative errors the same claim reads N^-2.
PAPER_SLOPE = {"mse": -4.0, "h1_mse": -4.0, "rel_l2": -2.0, "rel_h1": -2.0}


def spline_slope(metric: str, k: int) -> float:
    """Approximation theory of order-k splines along a grid ladder (N ~ G at fixed width):
    L2 error ~ G^-(k+1), H1 error ~ G^-k; squared for mse and h1_mse."""
    base = -(k + 1) if metric in ("mse", "rel_l2") else -k
    return 2.0 * base if metric in ("mse", "h1_mse") else float(base)


def _has_grid(rows: list[dict[str, Any]]) -> bool:
    return any(str(r.get("grid", "")) not in ("", "None") for r in rows)


def scaling(out: Path, rows: list[dict[str, Any]], fits: dict[str, Any], k: int = 3) -> None:
    """scaling.png: each metric against parameters, each family's points and fit, labelled reference slopes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pinnkan.plots import save

    fig, axs = plt.subplots(2, 2, figsize=(11, 8.5))
    names = families(rows)
    colors = {f: f"C{i}" for i, f in enumerate(names)}
    for ax, metric in zip(axs.ravel(), METRICS):
        for family in names:
            ok = [
                r for r in rows if r["family"] == family and r.get("status") == "ok" and r.get(metric) not in ("", None)
            ]
            if not ok:
                continue
            ax.loglog(
                [int(r["params"]) for r in ok],
                [float(r[metric]) for r in ok],
                "o",
                color=colors[family],
                alpha=0.35,
                ms=4,
            )
            fit = fits.get(family, {}).get(metric, {})
            pts = fit.get("points") or []
            if not pts:
                continue
            p = np.array([q[0] for q in pts], float)
            ax.loglog(p, [q[1] for q in pts], "o", color=colors[family], label=f"{family} ({fit['select']})")
            if fit.get("exponent") is not None:
                xs = np.geomspace(p.min(), p.max(), 20)
                ax.loglog(
                    xs,
                    np.exp(fit["intercept"]) * xs ** fit["exponent"],
                    "-",
                    color=colors[family],
                    label=f"{family} fit N^{fit['exponent']:.2f}",
                )
        grid_rows = [r for r in rows if str(r.get("grid", "")) not in ("", "None") and r.get("status") == "ok"]
        grid_family = grid_rows[0]["family"] if grid_rows else None
        pts = fits.get(grid_family, {}).get(metric, {}).get("points") or [] if grid_family else []
        if pts:
            p0, e0 = pts[0]
            xs = np.geomspace(p0, max(q[0] for q in pts) * 1.5, 20)
            kind = "squared" if "mse" in metric else "unsquared"
            claim = f"N^{PAPER_SLOPE[metric]:g} (KAN paper's claim, {kind})"
            ax.loglog(xs, e0 * (xs / p0) ** PAPER_SLOPE[metric], "k--", lw=1, label=claim)
            slope = spline_slope(metric, k)
            ax.loglog(xs, e0 * (xs / p0) ** slope, "k:", lw=1, label=f"N^{slope:g} (spline theory, k={k})")
        ax.set(xlabel="parameters N", ylabel=metric, title=metric)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    save(fig, out / "scaling.png")


def grid_extension(out: Path, rows: list[dict[str, Any]]) -> None:
    """grid_extension.png: test mse and training loss along each width's grid ladder (first seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pinnkan.plots import save

    ladder_rows = [r for r in rows if str(r.get("grid", "")) not in ("", "None") and r.get("status") == "ok"]
    fig, ax = plt.subplots(figsize=(7, 5))
    keys = list(dict.fromkeys((r["family"], r["width"]) for r in ladder_rows))
    for i, (family, width) in enumerate(keys):
        first_seed = str(ladder_rows[0]["seed"])
        rs = sorted(
            (r for r in ladder_rows if (r["family"], r["width"]) == (family, width) and str(r["seed"]) == first_seed),
            key=lambda r: int(r["grid"]),
        )
        if not rs:
            continue
        g = [int(r["grid"]) for r in rs]
        ax.loglog(g, [float(r["mse"]) for r in rs], "o-", color=f"C{i}", label=f"{family} {width} test mse")
        ax.loglog(
            g,
            [float(r["train_loss"]) for r in rs],
            "s--",
            color=f"C{i}",
            alpha=0.7,
            label=f"{family} {width} train loss",
        )
    ax.set(xlabel="grid size G", ylabel="error", title="grid extension")
    ax.grid(True, which="both", alpha=0.3)
    if keys:
        ax.legend(fontsize=7)
    save(fig, out / "grid_extension.png")


def figures(out: Path, rows: list[dict[str, Any]], fits: dict[str, Any], k: int = 3) -> None:
    scaling(out, rows, fits, k)
    grid_extension(out, rows)
