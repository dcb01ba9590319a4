"""Run configuration: defaults, TOML files, command-line overrides, resolution.

A configuration is a nested dict ``{section: {key: value}}`` following
:data:`SCHEMA`. Sources are merged in order — defaults, the problem's own
defaults, ``--config FILE``, command-line options — and every key is checked:
unknown keys and malformed values are :class:`UserError`.
The ``[problem]`` section holds ``name`` and the problem's parameters.
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pinnkan.errors import UserError


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, allowed values and a check."""

    kind: str  # "int", "float", "str", "bool", "ints"
    default: Any = None
    choices: tuple[str, ...] = ()
    check: Callable[[Any], str | None] | None = None
    help: str = ""


def _positive(v: Any) -> str | None:
    if isinstance(v, list):
        return None if all(x > 0 for x in v) and v else "must be a non-empty list of positive integers"
    return None if v > 0 else "must be positive"


def _non_negative(v: Any) -> str | None:
    return None if v >= 0 else "must be >= 0"


SCHEMA: dict[str, dict[str, Key]] = {
    "problem": {"name": Key("str", "poisson", help="registered problem, or a path to a .py problem file")},
    "model": {
        "kind": Key("str", "kan", ("kan", "mlp"), help="surrogate"),
        "width": Key("ints", None, check=_positive, help="layer widths, e.g. 2,10,1 (default: the problem's)"),
        "grid": Key("int", None, check=_positive, help="KAN grid intervals G (default: first of train.grids)"),
        "k": Key("int", 3, check=_positive, help="KAN spline order"),
        "basis": Key("str", "auto", ("auto", "recursive"), help="KAN basis: closed-form local (auto) or Cox-de Boor"),
    },
    "data": {
        "n_interior": Key("int", None, check=_positive, help="interior collocation points"),
        "n_boundary": Key("int", None, check=_positive, help="points per boundary condition"),
        "n_initial": Key("int", None, check=_positive, help="points per initial condition"),
        "sampling": Key("str", "sobol", ("sobol", "uniform"), help="collocation sampling"),
    },
    "train": {
        "optimizer": Key("str", "adam+lbfgs", ("adam", "lbfgs", "adam+lbfgs")),
        "steps": Key("int", None, check=_positive, help="steps of the main optimizer per grid stage"),
        "adam_steps": Key("int", None, check=_non_negative, help="Adam warm-up steps before L-BFGS"),
        "lr": Key("float", None, check=_positive, help="Adam learning rate"),
        "grids": Key("ints", None, check=_positive, help="KAN grid-extension schedule, e.g. 5,10,20"),
        "alpha": Key("float", None, check=_positive, help="weight of the PDE residual in the loss"),
        "history_size": Key("int", 50, check=_positive, help="L-BFGS history"),
        "tolerance": Key("float", 1e-12, check=_non_negative, help="L-BFGS stops when the loss changes less"),
        "max_time": Key("float", 0.0, check=_non_negative, help="wall-clock budget in seconds (0: none)"),
    },
    "run": {
        "dtype": Key("str", "float64", ("float32", "float64")),
        "device": Key("str", "cpu", ("cpu", "cuda")),
        "seed": Key("int", 0, check=_non_negative),
        "derivatives": Key("str", "auto", ("auto", "autograd", "forward"), help="derivative engine"),
        "log_every": Key("int", 10, check=_positive, help="steps between test-error evaluations"),
        "out": Key("str", None, help="output folder (default runs/<problem>-<model>-<timestamp>)"),
        "progress": Key("bool", True, help="show a progress bar"),
    },
}

# Fallbacks for keys a problem's defaults leave open (filled in by resolve()).
FALLBACK = {
    "n_interior": 10000,
    "n_boundary": 800,
    "n_initial": None,  # same as n_boundary
    "alpha": 0.01,
    "grids": [5, 10, 20],
    "kan_hidden": [10],
    "mlp_hidden": [100, 100, 100],
    "lr": {"kan": 1e-2, "mlp": 1e-3},
}


def defaults() -> dict[str, dict[str, Any]]:
    return {s: {k: copy.deepcopy(key.default) for k, key in keys.items()} for s, keys in SCHEMA.items()}


def _coerce(where: str, key: Key, value: Any) -> Any:
    """Value from TOML (typed) or the command line (str) to the key's type."""
    kind = key.kind
    try:
        if value is None or (isinstance(value, str) and value.lower() == "none" and key.default is None):
            return None
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            out: Any = int(value)
        elif kind == "float":
            if isinstance(value, bool):
                raise ValueError
            out = float(value)
        elif kind == "bool":
            if isinstance(value, bool):
                out = value
            elif str(value).lower() in ("1", "true", "yes", "on"):
                out = True
            elif str(value).lower() in ("0", "false", "no", "off"):
                out = False
            else:
                raise ValueError
        elif kind == "ints":
            items = value if isinstance(value, list) else [v for v in str(value).split(",") if v.strip()]
            if any(isinstance(v, bool) or (isinstance(v, float) and not v.is_integer()) for v in items):
                raise ValueError
            out = [int(v) for v in items]
        else:
            if not isinstance(value, str):
                raise ValueError
            out = value
    except (TypeError, ValueError):
        expect = {"ints": "a list of integers like 2,10,1", "bool": "true or false"}.get(
            kind, f"a{'n' if kind == 'int' else ''} {kind}"
        )
        raise UserError(f"{where} = {value!r} is not {expect}") from None
    if key.choices and out not in key.choices:
        raise UserError(f"{where} = {out!r} is not allowed; choose one of: {', '.join(key.choices)}")
    if key.check is not None:
        msg = key.check(out)
        if msg:
            raise UserError(f"{where} = {value!r} {msg}")
    return out


def set_key(cfg: dict[str, dict[str, Any]], dotted: str, value: Any) -> None:
    """Set ``section.key`` in cfg from a TOML or command-line value, checked."""
    if "." not in dotted:
        raise UserError(f"setting {dotted!r} must be section.key; sections: {', '.join(SCHEMA)}")
    section, name = dotted.split(".", 1)
    if section not in SCHEMA:
        raise UserError(f"unknown config section {section!r}; known: {', '.join(SCHEMA)}")
    if section == "problem" and name != "name":
        cfg["problem"][name] = value  # problem parameters: checked against the problem later
        return
    keys = SCHEMA[section]
    if name not in keys:
        raise UserError(f"unknown config key {dotted!r}; known in [{section}]: {', '.join(keys)}")
    cfg[section][name] = _coerce(dotted, keys[name], value)


def shipped_config(name: str) -> Path | None:
    """A configuration shipped with pinnkan (configs/), by file or stem name, if there is one."""
    from importlib.resources import files

    stem = Path(name).name
    for candidate in (stem, f"{stem}.toml"):
        ref = files("pinnkan.configs") / candidate
        if ref.is_file():
            return Path(str(ref))
    return None


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (or a shipped config of that name); malformed files are UserError."""
    path = Path(path)
    if not path.exists():
        path = shipped_config(str(path)) or path
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise UserError(f"config file {str(path)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"config file {str(path)!r} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise UserError(f"config file {str(path)!r} cannot be read: {exc.strerror}") from None


def merge_toml(cfg: dict[str, dict[str, Any]], data: dict[str, Any], origin: str) -> None:
    """Apply a parsed TOML document (sections of keys) onto cfg."""
    for section, table in data.items():
        if section not in SCHEMA:
            raise UserError(f"{origin}: unknown config section [{section}]; known: {', '.join(SCHEMA)}")
        if not isinstance(table, dict):
            raise UserError(f"{origin}: {section} must be a table [{section}]")
        for name, value in table.items():
            set_key(cfg, f"{section}.{name}", value)


def resolve(cfg: dict[str, dict[str, Any]], problem) -> dict[str, dict[str, Any]]:
    """Fill every open key from the problem's defaults and the fallbacks; check consistency.

    Returns a new, fully spelled-out configuration.
    """
    cfg = copy.deepcopy(cfg)
    pd = dict(problem.defaults)
    model, data, train = cfg["model"], cfg["data"], cfg["train"]
    kind = model["kind"]
    d, f = len(problem.coords), len(problem.fields)

    for key in ("n_interior", "n_boundary"):
        if data[key] is None:
            data[key] = int(pd.get(key, FALLBACK[key]))
    if data["n_initial"] is None:
        data["n_initial"] = int(pd.get("n_initial", data["n_boundary"]))
    if train["alpha"] is None:
        train["alpha"] = float(pd.get("alpha", FALLBACK["alpha"]))

    if model["width"] is None:
        hidden = pd.get(f"{kind}_hidden", FALLBACK[f"{kind}_hidden"])
        model["width"] = [d, *hidden, f]
    w = model["width"]
    if len(w) < 2 or w[0] != d or w[-1] != f:
        raise UserError(
            f"model.width = {','.join(map(str, w))} must start with {d} (inputs {','.join(problem.coords)}) "
            f"and end with {f} (outputs {','.join(problem.fields)})"
        )

    if kind == "kan":
        grids = train["grids"]
        if grids is None:
            grids = [model["grid"]] if model["grid"] is not None else list(pd.get("grids", FALLBACK["grids"]))
        if model["grid"] is None:
            model["grid"] = grids[0]
        if grids[0] != model["grid"]:
            raise UserError(f"model.grid = {model['grid']} disagrees with the first of train.grids = {grids}")
        if any(b <= a for a, b in zip(grids, grids[1:])):
            raise UserError(f"train.grids = {grids} must increase")
        train["grids"] = grids
    else:
        train["grids"] = []
        model["grid"] = None

    opt = train["optimizer"]
    if train["steps"] is None:
        fallback = {"adam": 2000, "lbfgs": 200, "adam+lbfgs": 300}[opt]
        # a problem's "steps" default is for the default optimizer (adam+lbfgs)
        train["steps"] = int(pd.get("steps", fallback)) if opt == "adam+lbfgs" else fallback
    if train["adam_steps"] is None:
        train["adam_steps"] = int(pd.get("adam_steps", 200)) if opt == "adam+lbfgs" else 0
    if train["lr"] is None:
        train["lr"] = float(pd.get("lr", FALLBACK["lr"][kind]))
    return cfg
