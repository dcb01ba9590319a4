"""The library entry point: ``solve(problem, model, ...) -> Solution``, with no file I/O.

::

    import pinnkan
    problem = pinnkan.load_problem("poisson")
    solution = pinnkan.solve(problem, "kan", width=[2, 10, 1], grids=[5, 10, 20])
    print(solution.errors["rel_l2"])

Settings are the configuration keys by their plain names (``steps=300``,
``dtype="float32"``, ``n_interior=4000``; see ``pinnkan solve --help``), or a
nested ``config={"train": {...}}``. The command line's run folder is a thin
layer over this (:mod:`pinnkan.runfolder`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from pinnkan.config import defaults, resolve, schema, set_key
from pinnkan.constraint import attach_constraint
from pinnkan.enrichment import Enrichment
from pinnkan.errors import UserError
from pinnkan.jet import JetError, resolve_engine
from pinnkan.metrics import check_exact, error_figures, make_tracker
from pinnkan.problem import Problem
from pinnkan.registry import get_problem
from pinnkan.restarts import refuse_instance, scout
from pinnkan.solution import Solution
from pinnkan.surrogates import Surrogate, build_surrogate
from pinnkan.training import Callback, Collocation, Trainer, term_names
from pinnkan.unknowns import UnknownParameters
from pinnkan.validation import check_distributed, check_problem, record_all

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def load_problem(name: str, **params: Any) -> Problem:
    """A registered problem (``pinnkan list``) or the problem in a ``.py`` file, with its parameters set."""
    cls = get_problem(name)
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None


def make_surrogate(kind: str, problem: Problem, width: Sequence[int] | None = None, **options: Any) -> Surrogate:
    """The registered surrogate ``kind`` on the problem's domain, float64.

    ``width`` defaults to the problem's (or the surrogate's) choice; ``options`` are
    the surrogate's own settings (for a KAN: ``grid``, ``k``, ``basis``).
    """
    cfg = configure(problem, kind, None, {"width": list(width) if width else None, **options})
    lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in problem.domain.bounds())
    return build_surrogate(kind, cfg["model"]["width"], lo, hi, cfg["model"]).to(torch.float64)


def configure(
    problem: Problem, model: str | Surrogate | None, config: dict[str, Any] | None, settings: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The resolved configuration: defaults < ``config`` (nested) < ``settings`` (plain key names)."""
    cfg = defaults()
    for section, table in (config or {}).items():
        if not isinstance(table, dict):
            raise UserError(f"config[{section!r}] must be a dict of settings")
        for key, value in table.items():
            set_key(cfg, f"{section}.{key}", value)
    where = {key: section for section, keys in schema().items() for key in keys if section != "problem"}
    for key, value in settings.items():
        if key not in where:
            raise UserError(f"unknown setting {key!r}; known: {', '.join(sorted(where))}")
        set_key(cfg, f"{where[key]}.{key}", value)
    if isinstance(model, Surrogate):
        if cfg["train"]["restarts"] is None:  # a model passed in is trained as it is (pinnkan.restarts)
            cfg["train"]["restarts"] = 1
        spec = model.spec()
        for key, value in spec.items():
            if key in cfg["model"]:
                cfg["model"][key] = value
    elif model is not None:
        set_key(cfg, "model.kind", model)
    if not str(cfg["problem"]["name"]).endswith(".py"):  # a problem file keeps its path, to be found again
        cfg["problem"]["name"] = problem.name
    plan = None
    if cfg["train"]["plan"] in ("auto", "only"):
        from pinnkan.planning import make_plan

        record_all(problem)
        try:
            plan = make_plan(problem, cfg)
        except JetError as exc:
            raise UserError(f"problem {problem.name!r}: residual: {exc}") from None
    cfg = resolve(cfg, problem, plan.settings if plan is not None else None)
    if cfg["train"]["windows"] > 1:  # time-marching: refused now, in one line, where windows do not apply
        from pinnkan.marching import check

        check(problem, cfg)
    cfg["problem"].update(problem.param_values())
    if plan is not None:
        cfg["plan"] = plan.as_dict()
    return cfg


def prepare(problem: Problem, model: str | Surrogate, cfg: dict[str, dict[str, Any]]) -> tuple[Surrogate, str]:
    """The surrogate (built, or the one given, cast to the run's dtype and device) and its resolved engine."""
    r, m = cfg["run"], cfg["model"]
    if r["device"] == "cuda" and not torch.cuda.is_available():
        raise UserError("run.device = 'cuda' but no CUDA device is available; use --device cpu")
    torch.manual_seed(r["seed"] if r.get("init_seed") is None else r["init_seed"])
    if not isinstance(model, Surrogate):
        lo, hi = (torch.as_tensor(b, dtype=torch.float64) for b in problem.domain.bounds())
        try:
            model = build_surrogate(m["kind"], m["width"], lo, hi, m)
        except (TypeError, ValueError) as exc:
            raise UserError(str(exc)) from None
    if problem.unknown_specs and not (cfg["data"].get("observations") or problem.has_observations):
        names = ", ".join(problem.unknown_specs)
        raise UserError(f"problem {problem.name!r} learns {names} but has no observations: give --data FILE")
    if problem.unknown_specs and getattr(model, "unknowns", None) is None:
        model.unknowns = UnknownParameters(problem.unknown_specs)
    if problem.enrichment and m.get("enrich", True) and getattr(model, "enrichment", None) is None:
        model.enrichment = Enrichment(problem.enrichment, len(problem.fields))
    if m.get("output_scale", 1.0) != 1.0 and getattr(model, "output_scale", None) is None:
        from pinnkan.surrogates.base import OutputScale

        model.output_scale = OutputScale([m["output_scale"]] * len(problem.fields))
    if m.get("hard_bc") and getattr(model, "constraint", None) is None:
        attach_constraint(problem, model)
    model = model.to(dtype=TORCH_DTYPES[r["dtype"]], device=r["device"])
    try:
        engine = resolve_engine(r["derivatives"], model)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from pinnkan.training import PHASES, TECHNIQUES

    if problem.has_exact:  # before the conditions, whose values default to it
        check_exact(problem, torch.as_tensor(problem.test_points(), dtype=torch.float64))
    check_problem(problem, model, engine, observed=bool(cfg["data"].get("observations")))
    checks = [
        lambda n=name: PHASES[n].check(model, cfg["train"], problem) for name in cfg["train"]["optimizer"].split("+")
    ]
    checks += [lambda c=cls: c.check(problem, cfg) for cls in TECHNIQUES.values()]
    checks.append(lambda: check_distributed(cfg))
    for check in checks:
        try:
            check()
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return model, engine


def solve(
    problem: Problem | str,
    model: Surrogate | str | None = None,
    *,
    config: dict[str, Any] | None = None,
    callbacks: Sequence[Callback] = (),
    **settings: Any,
) -> Solution:
    """Train ``model`` (a registered kind, or a surrogate built with :func:`make_surrogate`; default: the
    problem's choice, else ``"kan"``) on ``problem``.

    Returns a :class:`Solution`; writes nothing. Ctrl-C ends training early with
    status "interrupted". Mistakes in the settings raise :class:`pinnkan.UserError`.
    """
    if isinstance(problem, str):
        params = {k: v for k, v in ((config or {}).get("problem") or {}).items() if k != "name"}
        problem = load_problem(problem, **params)
    return train(problem, model, configure(problem, model, config, settings), callbacks)


def resume(checkpoint: dict[str, Any], callbacks: Sequence[Callback] = (), lr_scale: float = 1.0) -> Solution:
    """Continue the run a checkpoint (``training.checkpoint.load_checkpoint``) was taken from.

    ``callbacks`` must be the same kinds, in the same order, as the run had (their
    states are restored); ``lr_scale`` multiplies every phase's step size.
    """
    from pinnkan.surrogates import surrogate_from_blob

    cfg = checkpoint["config"]
    problem = load_problem(cfg["problem"]["name"], **{k: v for k, v in cfg["problem"].items() if k != "name"})
    model = surrogate_from_blob(checkpoint["model"], problem)
    return train(problem, model, cfg, callbacks, checkpoint, lr_scale)


def data_term(problem: Problem, cfg: dict[str, dict[str, Any]], dtype=torch.float64, device="cpu"):
    """The loss's data term: ``data.observations`` when set, else the problem's own observations, else None.

    A problem with unknown parameters needs observations: without them it is refused (UserError)."""
    from pinnkan.observations import read_observations
    from pinnkan.training.loss import DataTerm

    path = cfg["data"].get("observations")
    obs = read_observations(path, problem) if path else problem.observations()
    if obs is None:
        if problem.unknown_specs:
            names = ", ".join(problem.unknown_specs)
            raise UserError(f"problem {problem.name!r} learns {names} but has no observations: give --data FILE")
        return None
    return DataTerm.of(obs, cfg["train"]["data_weight"], dtype, device)


def train(
    problem: Problem,
    model: Surrogate | str,
    cfg: dict[str, dict[str, Any]],
    callbacks: Sequence[Callback] = (),
    checkpoint: dict[str, Any] | None = None,
    lr_scale: float = 1.0,
) -> Solution:
    """Train with a resolved configuration (:func:`configure`), from a checkpoint's position when given.

    A model given by name is first scouted over ``train.restarts`` initial seeds
    (:mod:`pinnkan.restarts`), each start reported on stderr when ``run.progress``.
    """
    if checkpoint is None and cfg["train"].get("windows", 1) > 1:  # time-marching (pinnkan.marching)
        from pinnkan.marching import march

        if isinstance(model, Surrogate):
            raise UserError("train.windows > 1 builds one surrogate per window: give the model by name")
        return march(problem, cfg["model"]["kind"], cfg, train, callbacks)
    scouting = None
    if checkpoint is None:
        if isinstance(model, Surrogate):
            refuse_instance(cfg, model)
        else:
            scouting = scout(problem, cfg, train, echo=cfg["run"]["progress"])
    model, engine = prepare(problem, model, cfg)
    r = cfg["run"]
    dtype, device = TORCH_DTYPES[r["dtype"]], r["device"]
    tracker = make_tracker(problem, cfg, dtype, device)
    if checkpoint is None:
        points = Collocation.sample(problem, cfg["data"], r["seed"], dtype, device)
    else:
        saved = checkpoint["points"]
        points = Collocation(
            saved["interior"].to(dtype=dtype, device=device),
            [c.to(dtype=dtype, device=device) for c in saved["conditions"]],
        )
    data = data_term(problem, cfg, dtype, device)
    outcome = Trainer(problem, model, cfg, tracker, engine, points, callbacks, data).run(checkpoint, lr_scale)
    final = outcome.history[-1] if outcome.history else tracker(model, engine)
    if outcome.model is not None:  # budgeted training kept an earlier, better state
        model = outcome.model
        final = tracker(model, engine)
    if outcome.status == "diverged":  # the last row holds the blown-up step; the model is its last good state
        final = tracker(model, engine)
    errors = error_figures(final)
    return Solution(
        problem,
        model,
        cfg,
        engine,
        outcome.history,
        errors,
        outcome.status,
        outcome.stop_reasons,
        outcome.steps,
        outcome.train_s,
        tracker,
        outcome.signal,
        scouting,
        term_names(problem, data is not None),
        outcome.reports,
    )
