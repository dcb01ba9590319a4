"""Run configuration: defaults, TOML files, command-line overrides, resolution.

A configuration is a nested dict ``{section: {key: value}}`` following
:func:`schema`. Sources are merged in order — defaults, the problem's own
defaults, ``--config FILE``, command-line options — and every key is checked:
unknown keys and malformed values are :class:`UserError`.
The ``[problem]`` section holds ``name`` and the problem's parameters.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

from pinnkan.errors import UserError
from pinnkan.jet import ENGINES
from pinnkan.keys import Key, non_negative, positive
from pinnkan.restarts import default_restarts
from pinnkan.surrogates import SURROGATES, surrogate_class
from pinnkan.training import PHASES, TECHNIQUES


def _surrogates() -> tuple[str, ...]:
    return tuple(SURROGATES)


def _engines() -> tuple[str, ...]:
    return ENGINES


def _phase_sequence(v: str) -> str | None:
    names = v.split("+")
    if len(names) > 2 or not all(n in PHASES for n in names):
        known = ", ".join(PHASES)
        return f"is not a phase or warm-up+phase; phases: {known} (e.g. {'+'.join(list(PHASES)[:2])})"
    return None


DTYPES = ("float32", "float64")
SAMPLINGS = ("sobol", "uniform")

# the sections and keys every run has; [model] also gets each registered surrogate's config_keys
BASE_SCHEMA: dict[str, dict[str, Key]] = {
    "problem": {"name": Key("str", "poisson", help="registered problem, or a path to a .py problem file")},
    "model": {
        "kind": Key("str", None, _surrogates, help="surrogate (default: the problem's choice, else kan)"),
        "width": Key("ints", None, check=positive, help="layer widths, e.g. 2,10,1 (default: the problem's)"),
        "enrich": Key(
            "bool", True, help="add the problem's known singular functions, if it declares any, with trained weights"
        ),
        "output_scale": Key(
            "float",
            None,
            check=positive,
            help="a fixed factor on the network's output: the size of the fields (default: the plan's, else 1)",
        ),
        "hard_bc": Key(
            "bool",
            None,
            help="build the Dirichlet and initial conditions on whole box faces into the surrogate, u = g + d N, "
            "so that they hold exactly (default: the problem's choice, else false)",
        ),
    },
    "data": {
        "n_interior": Key("int", None, check=positive, help="interior collocation points"),
        "n_boundary": Key("int", None, check=positive, help="points per boundary condition"),
        "n_initial": Key("int", None, check=positive, help="points per initial condition"),
        "sampling": Key("str", "sobol", SAMPLINGS, help="collocation sampling"),
        "reference": Key(
            "str",
            None,
            help="reference data (CSV with header / NPZ: the coords, the fields, optionally d<field>_d<coord>) "
            "to measure errors against instead of the problem's own solution",
        ),
        "observations": Key(
            "str",
            None,
            help="observations for an inverse problem (CSV with header / NPZ: the coords, observed fields, "
            "optionally sigma or sigma_<field>); a data term joins the loss",
        ),
    },
    "train": {
        "optimizer": Key(
            "str",
            None,
            check=_phase_sequence,
            help="phase, or warm-up+phase (default: the problem's where it can train the model, else adam+lbfgs)",
        ),
        "steps": Key("int", None, check=positive, help="steps of the main optimizer per grid stage"),
        "adam_steps": Key("int", None, check=non_negative, help="warm-up steps (first phase of a+b, first stage)"),
        "lr": Key("float", None, check=positive, help="Adam learning rate"),
        "grids": Key("ints", None, check=positive, help="KAN grid-extension schedule, e.g. 5,10,20"),
        "alpha": Key("float", None, check=positive, help="weight of the PDE residual in the loss"),
        "history_size": Key("int", 50, check=positive, help="L-BFGS history"),
        "tolerance": Key("float", 1e-12, check=non_negative, help="L-BFGS stops when the loss changes less"),
        "max_time": Key(
            "float",
            None,
            check=non_negative,
            help="training budget in seconds (0: none; default: the plan's 600 where it sets the schedule, else 0)",
        ),
        "plan": Key(
            "str",
            "auto",
            ("auto", "off", "only"),
            help="auto: the planner fills every key nobody set from the problem's declaration; off: fallbacks; "
            "only: the plan in place of the problem's own defaults (a built-in's recipe left out)",
        ),
        "windows": Key(
            "int",
            None,
            check=positive,
            help="time-marching: train the time interval as this many windows in order, each starting from the "
            "last one's solution, the budget shared (default: the plan's, else 1)",
        ),
        "data_weight": Key("float", 1.0, check=positive, help="weight of the data term (with observations)"),
        "restarts": Key(
            "int",
            None,
            check=positive,
            help="first grid stages trained from init seeds init_seed, init_seed+1, ...; the run goes on from "
            "the best (a KAN: the sparsest within 4x of the lowest loss) "
            "(default: 16 for a model of at most 100 parameters, else 1)",
        ),
        "resample": Key(
            "str",
            "none",
            ("none", "rad"),
            help="rad: redraw the interior points by the PDE residual at each grid stage after the first",
        ),
        "divergence_factor": Key(
            "float", 1e8, check=non_negative, help="diverged when the loss exceeds this times its best (0: off)"
        ),
    },
    "run": {
        "dtype": Key("str", "float64", DTYPES),
        "device": Key("str", "cpu", ("cpu", "cuda")),
        "seed": Key("int", 0, check=non_negative, help="seed of the collocation points (and of the initial model)"),
        "init_seed": Key(
            "int", None, check=non_negative, help="seed of the initial parameters (default: run.seed; restarts set it)"
        ),
        "derivatives": Key("str", "auto", _engines, help="derivative engine"),
        "log_every": Key("int", 10, check=positive, help="steps between test-error evaluations"),
        "out": Key("str", None, help="output folder (default runs/<problem>-<model>-<timestamp>)"),
        "progress": Key("bool", True, help="show a progress bar"),
        "checkpoint_every": Key("int", 0, check=non_negative, help="checkpoint every N steps (0: by time only)"),
        "checkpoint_seconds": Key(
            "float", 120.0, check=non_negative, help="checkpoint every S seconds of training (0: by steps only)"
        ),
        "on_divergence": Key("str", "stop", ("stop", "retry"), help="retry: resume the last checkpoint, lr / 10"),
        "divergence_retries": Key("int", 3, check=non_negative, help="retries at most, with --on-divergence retry"),
    },
}

DEFAULT_OPTIMIZER = "adam+lbfgs"
DEFAULT_MODEL = "kan"
# steps per stage of the main phase when neither the user nor the problem says
STEPS_FALLBACK = {"adam": 2000, "lbfgs": 200, "adam+lbfgs": 300, "lm": 50, "adam+lm": 50, "lm_cg": 50, "adam+lm_cg": 50}

# data and training fallbacks for keys a problem's defaults leave open (filled in by resolve());
# per-surrogate ones (hidden widths, learning rate, grids) live on the surrogate class
FALLBACK = {"n_interior": 10000, "n_boundary": 800, "alpha": 0.01}


def schema() -> dict[str, dict[str, Key]]:
    """Every section and key, the registered surrogates' own [model] keys and the phases' and training
    techniques' [train] keys included."""
    out = {section: dict(keys) for section, keys in BASE_SCHEMA.items()}
    for cls in SURROGATES.values():
        for name, key in cls.config_keys.items():
            out["model"].setdefault(name, key)
    for part in (*PHASES.values(), *TECHNIQUES.values()):
        for name, key in part.config_keys.items():
            out["train"].setdefault(name, key)
    return out


def problem_default_keys() -> tuple[str, ...]:
    """Keys a problem's ``defaults`` may hold: data and train keys, and per surrogate its widths, rate and
    own [model] settings (``kan_k``, ``chebyshev_degree``)."""
    keys = [*BASE_SCHEMA["data"], *schema()["train"], "model", "hard_bc", "output_scale"]
    for kind, cls in SURROGATES.items():
        keys += [f"{kind}_hidden", f"{kind}_lr", *(f"{kind}_{k}" for k in cls.config_keys if k != "grid")]
    return tuple(keys)


def defaults() -> dict[str, dict[str, Any]]:
    """Every key at its built-in default (None where the problem or surrogate fills it in)."""
    return {s: {k: copy.deepcopy(key.default) for k, key in keys.items()} for s, keys in schema().items()}


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
    allowed = key.allowed()
    if allowed and out not in allowed:
        raise UserError(f"{where} = {out!r} is not allowed; choose one of: {', '.join(allowed)}")
    if key.check is not None:
        msg = key.check(out)
        if msg:
            raise UserError(f"{where} = {value!r} {msg}")
    return out


def set_key(cfg: dict[str, dict[str, Any]], dotted: str, value: Any) -> None:
    """Set ``section.key`` in cfg from a TOML or command-line value, checked."""
    sections = schema()
    if "." not in dotted:
        raise UserError(f"setting {dotted!r} must be section.key; sections: {', '.join(sections)}")
    section, name = dotted.split(".", 1)
    if section not in sections:
        raise UserError(f"unknown config section {section!r}; known: {', '.join(sections)}")
    if section == "problem" and name != "name":
        cfg["problem"][name] = value  # problem parameters: checked against the problem later
        return
    keys = sections[section]
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
    sections = schema()
    for section, table in data.items():
        if section not in sections:
            raise UserError(f"{origin}: unknown config section [{section}]; known: {', '.join(sections)}")
        if not isinstance(table, dict):
            raise UserError(f"{origin}: {section} must be a table [{section}]")
        for name, value in table.items():
            set_key(cfg, f"{section}.{name}", value)


def check_problem_defaults(problem) -> None:
    """A problem's ``defaults`` may only hold known keys (a typo is one line, not a silent no-op)."""
    known = problem_default_keys()
    bad = sorted(set(problem.defaults) - set(known))
    if bad:
        raise UserError(f"problem {problem.name!r}: unknown defaults key {bad[0]!r}; known: {', '.join(known)}")


def resolve(
    cfg: dict[str, dict[str, Any]], problem, planned: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Fill every open key from the problem's defaults, the plan's (``planned``, under them; in place of them
    with ``train.plan = "only"``), the surrogate's and the fallbacks; check consistency.

    Returns a new, fully spelled-out configuration.
    """
    check_problem_defaults(problem)
    cfg = copy.deepcopy(cfg)
    own = {} if cfg["train"].get("plan") == "only" else problem.defaults
    pd = {**(planned or {}), **own}
    model, data, train = cfg["model"], cfg["data"], cfg["train"]
    if model["kind"] is None:  # the problem's surrogate, where it names one (it measured best there)
        model["kind"] = _coerce("problem default model", BASE_SCHEMA["model"]["kind"], pd.get("model", DEFAULT_MODEL))
    kind = model["kind"]
    surrogate = surrogate_class(kind)
    if model.get("hard_bc") is None:
        model["hard_bc"] = bool(pd.get("hard_bc", False))
    if model.get("output_scale") is None:
        model["output_scale"] = float(pd.get("output_scale", 1.0))
    d, f = len(problem.coords), len(problem.fields)

    for key in ("n_interior", "n_boundary"):
        if data[key] is None:
            data[key] = int(pd.get(key, FALLBACK[key]))
    if data["n_initial"] is None:
        data["n_initial"] = int(pd.get("n_initial", data["n_boundary"]))
    if train["alpha"] is None:
        train["alpha"] = float(pd.get("alpha", FALLBACK["alpha"]))
    if data.get("reference"):  # kept absolute so that a resumed or evaluated run finds it from anywhere
        from pinnkan.reference_data import read_reference

        data["reference"] = str(Path(data["reference"]).expanduser().resolve())
        read_reference(data["reference"], problem)  # bad data is refused now, before anything starts
    if data.get("observations"):
        from pinnkan.observations import read_observations

        data["observations"] = str(Path(data["observations"]).expanduser().resolve())
        read_observations(data["observations"], problem)

    for key in surrogate.config_keys:  # the problem's choice of the surrogate's own settings, then the built-in
        if key != "grid" and model.get(key) is None:
            model[key] = pd.get(f"{kind}_{key}", surrogate.setting_default(key))
    if model["width"] is None:
        hidden = pd.get(f"{kind}_hidden", surrogate.default_hidden)
        model["width"] = [d, *hidden, f]
    w = model["width"]
    if len(w) < 2 or w[0] != d or w[-1] != f:
        raise UserError(
            f"model.width = {','.join(map(str, w))} must start with {d} (inputs {','.join(problem.coords)}) "
            f"and end with {f} (outputs {','.join(problem.fields)})"
        )

    if surrogate.has_grid():
        grids = train["grids"]
        if grids is None:
            grids = [model["grid"]] if model.get("grid") is not None else list(pd.get("grids", surrogate.default_grids))
        if model.get("grid") is None:
            model["grid"] = grids[0]
        if grids[0] != model["grid"]:
            raise UserError(f"model.grid = {model['grid']} disagrees with the first of train.grids = {grids}")
        if any(b <= a for a, b in zip(grids, grids[1:])):
            raise UserError(f"train.grids = {grids} must increase")
        train["grids"] = grids
    else:
        train["grids"] = []
        if "grid" in model:
            model["grid"] = None

    if train["optimizer"] is None:
        train["optimizer"] = _default_optimizer(problem, pd, cfg, surrogate)
    if train["restarts"] is None:
        train["restarts"] = default_restarts(_throwaway(problem, cfg, surrogate).n_params)
    opt = train["optimizer"]
    if train["steps"] is None:
        fallback = STEPS_FALLBACK.get(opt, 300)
        # a problem's "steps" default is for its own default optimizer
        train["steps"] = int(pd.get("steps", fallback)) if opt == pd.get("optimizer", DEFAULT_OPTIMIZER) else fallback
    if train["adam_steps"] is None:
        train["adam_steps"] = int(pd.get("adam_steps", 200)) if "+" in opt else 0
    if train["lr"] is None:
        train["lr"] = float(pd.get(f"{kind}_lr", pd.get("lr", surrogate.default_lr)))
    # the phases' and techniques' own keys left open (None): a problem's (or the plan's) value, else 0 / off
    for key, spec in schema()["train"].items():
        if key not in BASE_SCHEMA["train"] and train.get(key) is None and spec.default is None:
            off = {"float": 0.0, "int": 0, "bool": False}.get(spec.kind)
            train[key] = _coerce(f"problem default {key}", spec, pd.get(key, off))
    if train["max_time"] is None:
        train["max_time"] = float(pd.get("max_time", 0.0))
    if train["windows"] is None:
        train["windows"] = int(pd.get("windows", 1))
    return cfg


def _throwaway(problem, cfg: dict[str, dict[str, Any]], surrogate):
    """The configured model, built aside: the caller's random stream stays as it was."""
    import torch

    lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in problem.domain.bounds())
    with torch.random.fork_rng(devices=[]):
        return surrogate.from_config(cfg["model"]["width"], lo, hi, cfg["model"])


def _default_optimizer(problem, pd: dict[str, Any], cfg: dict[str, dict[str, Any]], surrogate) -> str:
    """The problem's optimizer where its phases can train this surrogate (lm: small enough), else the default."""
    wanted = pd.get("optimizer", DEFAULT_OPTIMIZER)
    if wanted == DEFAULT_OPTIMIZER:
        return wanted
    model = _throwaway(problem, cfg, surrogate)
    try:
        for name in wanted.split("+"):
            PHASES[name].check(model, cfg["train"])
    except ValueError:
        return DEFAULT_OPTIMIZER
    return wanted
