"""A sweep's specification: the TOML file, checked, and the runs it plans.

::

    [sweep]
    problem = "poisson"
    seeds = [0]
    select = "best"          # points used in the fits: best per size, "frontier" or "all"

    [base.train]             # any solve settings, applied to every point
    steps = 300              # (train.restarts is 1 in a sweep unless set here: one budget for every size)

    [kan]                    # a family: any registered surrogate kind
    widths = [[2, 5, 1], [2, 10, 1]]
    grids = [3, 5, 10, 20]   # surrogates with a grid: one run per width trains through this ladder
    [kan.train]              # optional settings for this family only

    [mlp]
    depths = [2, 3, 4]       # with integer widths: uniform hidden layers, depth = linear layers
    widths = [10, 100]       # ([2,100,100,100,1] has depth 4); or a list of full width lists
"""

from __future__ import annotations

import copy
from typing import Any

from pinnkan.config import defaults, schema, set_key
from pinnkan.errors import UserError

SWEEP_KEYS = {"problem", "seeds", "select", "name"}
SELECTIONS = ("best", "frontier", "all")


def overrides(cfg: dict, table: dict[str, Any], where: str) -> dict:
    """A copy of cfg with a TOML table of {section: {key: value}} applied, every key checked."""
    cfg = copy.deepcopy(cfg)
    sections = schema()
    for section, keys in table.items():
        if section not in sections or not isinstance(keys, dict):
            raise UserError(f"{where}: unknown key or section {section!r}; sections: {', '.join(sections)}")
        for key, value in keys.items():
            set_key(cfg, f"{section}.{key}", value)
    return cfg


def _int_list(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and v > 0 for v in value):
        raise UserError(f"{where} must be a non-empty list of positive integers")
    return value


def _family_widths(kind: str, table: dict[str, Any], d: int, f: int) -> list[tuple[str, list[int]]]:
    """(run-id stem, full widths) of one family: explicit width lists, or depths x hidden widths."""
    widths = table.pop("widths", None)
    depths = table.pop("depths", None)
    if isinstance(widths, list) and widths and all(isinstance(w, list) for w in widths):
        if depths is not None:
            raise UserError(f"sweep config: {kind}.depths goes with integer {kind}.widths, not width lists")
        out = []
        for w in widths:
            _int_list(w, f"{kind}.widths entries")
            if w[0] != d or w[-1] != f:
                raise UserError(f"{kind} width {w} must start with {d} and end with {f} for this problem")
            out.append(("x".join(map(str, w)), list(w)))
        return out
    if depths is None:
        raise UserError(
            f"sweep config: {kind}.widths must be a list of width lists, e.g. [[2, 5, 1]], "
            f"or integers with {kind}.depths"
        )
    depths = _int_list(depths, f"{kind}.depths")
    hidden = _int_list(widths, f"{kind}.widths")
    return [(f"d{depth}-w{h}", [d] + [h] * (depth - 1) + [f]) for depth in depths for h in hidden]


def plan(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The runs of a sweep: [{id, family, width, grids|None, seed, cfg}], checked."""
    from pinnkan.solve import load_problem
    from pinnkan.surrogates import SURROGATES

    sweep = spec.get("sweep", {})
    unknown = set(spec) - {"sweep", "base", *SURROGATES}
    if unknown:
        known = ", ".join(["sweep", "base", *SURROGATES])
        raise UserError(f"sweep config: unknown section [{sorted(unknown)[0]}]; known: {known}")
    bad = set(sweep) - SWEEP_KEYS
    if bad:
        raise UserError(f"sweep config: unknown key sweep.{sorted(bad)[0]}; known: {', '.join(sorted(SWEEP_KEYS))}")
    if "problem" not in sweep:
        raise UserError("sweep config: [sweep] needs problem = NAME")
    if sweep.get("select", "best") not in SELECTIONS:
        raise UserError(f"sweep config: sweep.select must be one of: {', '.join(SELECTIONS)}")
    seeds = sweep.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise UserError("sweep.seeds must be a non-empty list of integers >= 0")
    start = defaults()
    # every point gets the same training budget: no scouting of restarts for the small ones unless asked
    start["train"]["restarts"] = 1
    base = overrides(start, spec.get("base", {}), "base")
    base["problem"]["name"] = sweep["problem"]
    base["run"]["progress"] = False
    problem = load_problem(sweep["problem"], **{k: v for k, v in base["problem"].items() if k != "name"})
    d, f = problem.dim, len(problem.fields)
    runs = []
    for kind in (k for k in spec if k in SURROGATES):
        table = dict(spec[kind])
        grids = table.pop("grids", None)
        if grids is not None and not SURROGATES[kind].has_grid():
            raise UserError(f"sweep config: {kind}.grids: the {kind} surrogate has no grid to extend")
        if grids is not None:
            grids = _int_list(grids, f"{kind}.grids")
        members = _family_widths(kind, table, d, f)
        cfg_family = overrides(base, table, kind)
        for stem, width in members:
            for seed in seeds:
                cfg = copy.deepcopy(cfg_family)
                cfg["model"].update(kind=kind, width=width)
                if grids is not None:
                    cfg["model"]["grid"] = grids[0]
                    cfg["train"]["grids"] = list(grids)
                cfg["run"]["seed"] = seed
                ladder = f"-g{'-'.join(map(str, grids))}" if grids else ""
                runs.append(
                    {
                        "id": f"{kind}-{stem}{ladder}-s{seed}",
                        "family": kind,
                        "width": width,
                        "grids": grids,
                        "seed": seed,
                        "cfg": cfg,
                    }
                )
    if not runs:
        raise UserError(f"sweep config: give at least one family section ({', '.join(SURROGATES)})")
    return runs
