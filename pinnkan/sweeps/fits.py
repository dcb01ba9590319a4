"""Exponent fits of error against parameter count, per family and per grid ladder."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pinnkan.sweeps.results import METRICS


def fit_exponent(params: np.ndarray, errors: np.ndarray) -> dict[str, Any]:
    """Least-squares fit log(error) = c + p log(params); p with its 95% interval (None below 3 points)."""
    from scipy import stats

    x, y = np.log(params.astype(float)), np.log(errors.astype(float))
    n = x.size
    if n < 2:
        return {"exponent": None, "ci95": None, "n": int(n)}
    slope, intercept = np.polyfit(x, y, 1)
    out: dict[str, Any] = {"exponent": float(slope), "intercept": float(intercept), "n": int(n)}
    if n > 2:
        resid = y - (intercept + slope * x)
        se = math.sqrt(float(resid @ resid) / (n - 2) / float(((x - x.mean()) ** 2).sum()))
        t = stats.t.ppf(0.975, n - 2)
        out["ci95"] = [float(slope - t * se), float(slope + t * se)]
    else:
        out["ci95"] = None
    return out


def select_points(rows: list[dict[str, Any]], metric: str, how: str) -> list[tuple[int, float]]:
    """(params, error) pairs of ok rows: all, the best per parameter count, or the Pareto frontier."""
    pts = [
        (int(r["params"]), float(r[metric]))
        for r in rows
        if r.get("status") == "ok"
        and r.get(metric) not in ("", None)
        and math.isfinite(float(r[metric]))
        and float(r[metric]) > 0
    ]
    if how == "all":
        return sorted(pts)
    best: dict[int, float] = {}
    for p, e in pts:
        best[p] = min(e, best.get(p, math.inf))
    chosen = sorted(best.items())
    if how == "frontier":
        front, low = [], math.inf
        for p, e in chosen:
            if e < low:
                front.append((p, e))
                low = e
        return front
    return chosen


def _fit(rows: list[dict[str, Any]], metric: str, how: str) -> dict[str, Any]:
    pts = select_points(rows, metric, how)
    fit = fit_exponent(np.array([p for p, _ in pts]), np.array([e for _, e in pts])) if pts else {"n": 0}
    fit["points"] = [[p, e] for p, e in pts]
    fit["select"] = how
    return fit


def families(rows: list[dict[str, Any]]) -> list[str]:
    """The families present, in order of first appearance."""
    return list(dict.fromkeys(r["family"] for r in rows))


def fit_all(rows: list[dict[str, Any]], how: str = "best") -> dict[str, Any]:
    """{family: {metric: fit}}, and under "ladders" {family: {width: {metric: fit}}} for grid ladders.

    The KAN paper's N^-(k+1) is a statement about one width along its grid ladder, so
    each ladder is fitted on its own too.
    """
    fits: dict[str, Any] = {}
    for family in families(rows):
        fam = [r for r in rows if r["family"] == family]
        fits[family] = {metric: _fit(fam, metric, how) for metric in METRICS}
    ladders: dict[str, Any] = {}
    for r in rows:
        if str(r.get("grid", "")) not in ("", "None"):
            ladders.setdefault(r["family"], {}).setdefault(r["width"], [])
    for family, widths in ladders.items():
        for width in widths:
            ladder = [r for r in rows if r["family"] == family and r["width"] == width]
            widths[width] = {metric: _fit(ladder, metric, "best") for metric in METRICS}
    if ladders:
        fits["ladders"] = ladders
    return fits


def headline(rows: list[dict[str, Any]], fits: dict[str, Any]) -> str:
    """One line: each family's most accurate point and fitted mse exponent, and each ladder's exponent."""
    parts = []
    for family in families(rows):
        ok = [r for r in rows if r["family"] == family and r.get("status") == "ok" and r.get("mse") not in ("", None)]
        if ok:
            best = min(ok, key=lambda r: float(r["mse"]))
            grid = f" G={best['grid']}" if str(best.get("grid", "")) not in ("", "None") else ""
            parts.append(f"best {family} {best['width']}{grid}: mse {float(best['mse']):.2e} ({best['params']} params)")
        f = fits.get(family, {}).get("mse")
        if f and f.get("exponent") is not None:
            ci = f.get("ci95")
            ci_txt = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            parts.append(f"{family} mse ~ N^{f['exponent']:.2f}{ci_txt}")
    for family, widths in fits.get("ladders", {}).items():
        for width, fl in widths.items():
            if fl["mse"].get("exponent") is not None:
                parts.append(f"{family} {width} ladder mse ~ N^{fl['mse']['exponent']:.2f}")
    return "; ".join(parts) or "no completed points"
