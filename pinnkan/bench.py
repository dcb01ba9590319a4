"""`pinnkan bench`: time and memory of one PINN loss-and-gradient evaluation per derivative engine.

Every engine runs in this one process on the same collocation points and the
same weights; the table reports medians after warm-up and ratios against the
reference engine. Engines:

- ``autograd``: nested reverse mode over the surrogate's reference formulation
  (``Surrogate.reference_options``): for a KAN the efficient-kan one (Cox–de Boor
  basis over all G + k splines, once; one matmul). This is the reference.
- ``autograd-local``: nested reverse mode over the surrogate as it is (for a KAN,
  pinnkan's closed-form k + 1 local bases); listed where that differs from the reference.
- ``forward``: forward-propagated jets (docs/architecture.md), first-order backward
  only; listed for surrogates that implement them. Its fused nodes run what the
  device has: Triton kernels on CUDA (with Triton installed), numba kernels on the
  CPU; the ``kernels`` column says which ran (PyTorch ops after a grid update has
  made a KAN's grid non-uniform).
- ``forward-torch``: the same jets with every fused node on its PyTorch ops (the
  reference the kernels are tested against; what runs on a device without kernels).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import torch

from pinnkan.errors import UserError
from pinnkan.memory import PeakTensorMemory

# (model, width or None for the problem's, grid or None) of the default set
DEFAULT_MODELS = [
    ("kan", [2, 10, 1], 5),
    ("kan", [2, 10, 1], 20),
    ("chebyshev", None, None),
    ("rational", None, None),
    ("mlp", [2, 100, 100, 100, 1], None),
]
ENGINES = ("autograd", "autograd-local", "forward", "forward-torch")
# forward-torch, the PyTorch ops of the fused nodes, is of interest beside device kernels (CUDA)
DEFAULT_ENGINES = {"cpu": ENGINES[:3], "cuda": ENGINES}


def engines_for(kind: str, wanted) -> list[str]:
    """The engines of ``wanted`` that apply to surrogate ``kind`` (see the module docstring)."""
    from pinnkan.surrogates import surrogate_class

    cls = surrogate_class(kind)
    forward = cls.forward_capable()
    applies = {"autograd": True, "autograd-local": bool(cls.reference_options), "forward": forward}
    applies["forward-torch"] = forward
    return [e for e in wanted if applies[e]]


@contextlib.contextmanager
def torch_ops(model) -> Iterator[None]:
    """Every fused node of ``model`` on its PyTorch ops inside the block (the ``forward-torch`` engine)."""
    from pinnkan.surrogates import chebyshev_jet, kan_jet, mlp_jet

    modules = (kan_jet, mlp_jet, chebyshev_jet)
    saved = [m.BACKEND for m in modules]
    rational = [m for m in model.modules() if type(m).__name__ == "GroupRational" and m.fused]
    for m in modules:
        m.BACKEND = "torch"
    for m in rational:
        m.fused = False
    try:
        yield
    finally:
        for m, b in zip(modules, saved):
            m.BACKEND = b
        for m in rational:
            m.fused = True


def kernels_label(model, engine: str) -> str:
    """What computed the jets for ``engine``: triton, numba or torch (ops), or - for the autograd engines."""
    if engine.startswith("autograd"):
        return "-"
    if engine == "forward-torch":
        return "torch"
    from pinnkan.surrogates import kan_jet, rational_jet
    from pinnkan.surrogates.compiled import AVAILABLE

    param = next(model.parameters())
    layers = [m for m in model.modules() if hasattr(m, "_local")]
    if layers:
        if not all(layer._local() for layer in layers):
            return "torch (non-uniform grid)"
        return kan_jet.backend_for(param)
    if any(type(m).__name__ == "GroupRational" for m in model.modules()):
        return rational_jet.backend_for(param)
    return "numba" if param.device.type == "cpu" and AVAILABLE else "torch"


def _trainer(problem, model: str, width, grid, dtype: str, engine: str, n_int: int, n_bnd: int, device: str = "cpu"):
    """A Trainer (no test set) and its surrogate for one engine of ``pinnkan bench``."""
    from pinnkan.solve import configure, load_problem, prepare
    from pinnkan.surrogates import surrogate_class
    from pinnkan.training import Collocation, Trainer

    options = surrogate_class(model).reference_options if engine == "autograd" else {}
    derivatives = "forward" if engine.startswith("forward") else "autograd"
    p = load_problem(problem)
    settings = {"width": width, "dtype": dtype, "derivatives": derivatives, "n_interior": n_int, "n_boundary": n_bnd}
    settings["device"] = device
    if grid is not None:
        settings["grid"] = grid
    cfg = configure(p, model, None, {**settings, **options})
    m, e = prepare(p, model, cfg)
    param = next(m.parameters())
    pts = Collocation.sample(p, cfg["data"], 0, param.dtype, param.device)
    return Trainer(p, m, cfg, None, e, pts), m


def _evaluation(trainer, model, engine: str = "forward"):
    ops = torch_ops if engine == "forward-torch" else (lambda m: contextlib.nullcontext())
    cuda = next(model.parameters()).is_cuda

    def once() -> None:
        with ops(model):
            model.zero_grad(set_to_none=True)
            trainer.loss_terms()["loss"].backward()
        if cuda:  # timings of what ran, not of what was queued
            torch.cuda.synchronize()

    return once


def measure(cases: list, repeat: int, warmup: int, settle: int = 1) -> list[tuple[float, float]]:
    """(median ms, peak MB) of loss_terms() + backward() for each (trainer, model, engine) in cases.

    The engines take turns, one timed evaluation each per round, so that load on the
    machine (this one is shared) falls on all of them alike. Each turn starts with
    ``settle`` untimed evaluations: training runs one engine's evaluations back to back,
    and the timed one should see that state (its data in cache), not what the other
    engine's turn left (``settle=0`` times the first evaluation after it).
    """
    evals = [_evaluation(t, m, e) for t, m, e in cases]
    for once in evals:
        for _ in range(warmup):
            once()
    times: list[list[float]] = [[] for _ in cases]
    for _ in range(repeat):
        for once, ts in zip(evals, times):
            for _ in range(settle):
                once()
            tic = time.perf_counter()
            once()
            ts.append(1e3 * (time.perf_counter() - tic))
    out = []
    for once, (_, model, _e), ts in zip(evals, cases, times):
        gc.collect()
        model.zero_grad(set_to_none=True)
        with PeakTensorMemory() as mem:
            once()
        out.append((statistics.median(ts), mem.peak_mb))
    return out


def profile_ops(trainer, model, engine: str = "forward", repeat: int = 5, top: int = 8) -> str:
    """Where one evaluation's time goes: the ops with the most self CPU time over ``repeat`` evaluations.

    Fused autograd nodes (KANLayerJet, MLPJet and their backwards) count their compiled
    kernels as self time; matmuls are aten::mm / aten::addmm.
    """
    from torch.profiler import ProfilerActivity, profile, schedule

    once = _evaluation(trainer, model, engine)
    once()
    # the profiler's own start-up lands in the skipped steps, not in the figures
    with profile(activities=[ProfilerActivity.CPU], schedule=schedule(wait=1, warmup=2, active=repeat)) as prof:
        for _ in range(repeat + 3):
            once()
            prof.step()
    stats = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in stats) or 1.0
    lines = [f"    {'op':<28} {'ms/eval':>8} {'share':>6}"]
    for e in stats[:top]:
        ms = e.self_cpu_time_total / 1e3 / repeat
        lines.append(f"    {e.key[:28]:<28} {ms:8.2f} {100 * e.self_cpu_time_total / total:5.1f}%")
    return "\n".join(lines)


def run_bench(
    problem: str = "poisson",
    models=None,
    dtypes=("float32", "float64"),
    engines=DEFAULT_ENGINES["cpu"],
    n_interior: int | None = None,
    n_boundary: int | None = None,
    repeat: int = 20,
    warmup: int = 3,
    progress: bool = True,
    profile: bool = False,
    device: str = "cpu",
    settle: int = 1,
) -> list[dict[str, Any]]:
    """Rows {problem, model, width, grid, dtype, batch, device, engine, kernels, median_ms, peak_mb}.

    With ``profile`` each engine's top ops are printed to stderr after its timings.
    """
    from pinnkan.registry import get_problem

    cls = get_problem(problem)
    n_int = n_interior or cls.defaults.get("n_interior", 10000)
    n_bnd = n_boundary or cls.defaults.get("n_boundary", 800)
    rows = []
    for kind, width, grid in models or DEFAULT_MODELS:
        for dtype in dtypes:
            names = engines_for(kind, engines)
            cases = []
            for name in names:
                torch.manual_seed(0)
                cases.append((*_trainer(problem, kind, width, grid, dtype, name, n_int, n_bnd, device), name))
            width = list(cases[0][1].widths) if cases and hasattr(cases[0][1], "widths") else width
            for (_, model, _e), name, (ms, mb) in zip(cases, names, measure(cases, repeat, warmup, settle)):
                row = {
                    "problem": problem,
                    "model": kind,
                    "width": width,
                    "grid": grid,
                    "dtype": dtype,
                    "batch": n_int,
                    "device": device,
                    "engine": name,
                    "kernels": kernels_label(model, name),
                    "median_ms": round(ms, 3),
                    "peak_mb": round(mb, 2),
                }
                rows.append(row)
                if progress:
                    print(f"  {kind} {width} G={grid} {dtype} {name}: {ms:.1f} ms, {mb:.1f} MB", file=sys.stderr)
            if profile:
                for name, (trainer, model, _e) in zip(names, cases):
                    print(f"  {kind} {width} G={grid} {dtype} {name}, self CPU time by op (profiled):", file=sys.stderr)
                    print(profile_ops(trainer, model, name), file=sys.stderr)
            del cases
            gc.collect()
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown table with speed and memory ratios against the autograd reference."""
    ref = {(r["model"], str(r["width"]), r["grid"], r["dtype"]): r for r in rows if r["engine"] == "autograd"}
    lines = [
        "| model | width | G | dtype | batch | engine | kernels | median ms | peak MB | speed-up vs autograd | "
        "memory ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = ref.get((r["model"], str(r["width"]), r["grid"], r["dtype"]))
        speed = f"{base['median_ms'] / r['median_ms']:.1f}x" if base else "-"
        mem = f"{base['peak_mb'] / r['peak_mb']:.1f}x" if base and r["peak_mb"] > 0 else "-"
        width = ",".join(map(str, r["width"]))
        lines.append(
            f"| {r['model']} | [{width}] | {r['grid'] or '-'} | {r['dtype']} | {r['batch']} | {r['engine']} | "
            f"{r.get('kernels', '-')} | {r['median_ms']:.1f} | {r['peak_mb']:.1f} | {speed} | {mem} |"
        )
    return "\n".join(lines)


def cmd_bench(args: argparse.Namespace) -> int:
    from pinnkan.config import DTYPES
    from pinnkan.surrogates import SURROGATES

    models = None
    if args.model:
        if args.model not in SURROGATES:
            raise UserError(f"--model {args.model!r} is not allowed; choose one of: {', '.join(SURROGATES)}")
        try:
            width = [int(v) for v in args.width.split(",")] if args.width else None
            grids = [int(g) for g in args.grid.split(",")] if args.grid else [5, 20]
        except ValueError:
            raise UserError("--width and --grid take comma-separated integers, e.g. 2,10,1") from None
        if SURROGATES[args.model].has_grid():
            models = [(args.model, width, g) for g in grids]
        else:
            models = [(args.model, width, None)]
    dtypes = tuple(args.dtype.split(",")) if args.dtype else DTYPES
    for d in dtypes:
        if d not in DTYPES:
            raise UserError(f"--dtype {d!r} is not allowed; choose one of: {', '.join(DTYPES)}")
    engines = tuple(args.engines.split(",")) if args.engines else DEFAULT_ENGINES[args.device]
    for e in engines:
        if e not in ENGINES:
            raise UserError(f"--engines: unknown engine {e!r}; known: {', '.join(ENGINES)}")
    for name in ("batch", "repeat"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            raise UserError(f"--{name} must be positive")
    for name in ("warmup", "settle"):
        if getattr(args, name) < 0:
            raise UserError(f"--{name} must not be negative")
    rows = run_bench(
        args.problem,
        models,
        dtypes,
        engines,
        args.batch,
        None,
        args.repeat,
        args.warmup,
        progress=not args.json,
        profile=args.profile,
        device=args.device,
        settle=args.settle,
    )
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        threads = torch.get_num_threads()
        where = torch.cuda.get_device_name() if args.device == "cuda" else f"{threads} threads"
        print(f"pinnkan bench: {args.problem}, one loss + gradient evaluation, {where}, torch {torch.__version__}")
        print(table(rows))
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="time and memory of the derivative engines",
        description="Median time and peak tensor memory of one PINN loss + gradient evaluation, per engine.",
    )
    p.add_argument("--problem", default="poisson", help="problem (default poisson)")
    p.add_argument(
        "--model",
        help="a registered surrogate (default: KAN [2,10,1] G=5 and G=20, Chebyshev and rational KANs "
        "at their default widths, MLP [2,100,100,100,1])",
    )
    p.add_argument("--width", help="layer widths, e.g. 2,10,1")
    p.add_argument("--grid", help="KAN grid sizes, e.g. 5,20")
    p.add_argument("--dtype", help="float32, float64 or both (default both)")
    p.add_argument(
        "--engines",
        help=f"comma-separated, of {', '.join(ENGINES)} (default: all on cuda, all but forward-torch on the cpu)",
    )
    p.add_argument("--batch", type=int, help="interior collocation points (default: the problem's, 10000)")
    p.add_argument("--repeat", type=int, default=20, help="timed evaluations per engine, taken in turns (default 20)")
    p.add_argument("--warmup", type=int, default=3, help="untimed evaluations first (default 3)")
    p.add_argument(
        "--settle",
        type=int,
        default=1,
        help="untimed evaluations at the start of each engine's turn, so that the timed one runs as in "
        "training, after one of its own (default 1; 0 times the first after the other engine's)",
    )
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu", help="where to run (default cpu)")
    p.add_argument("--json", action="store_true", help="print a JSON list of rows instead of the table")
    p.add_argument(
        "--profile", action="store_true", help="also print, per engine, the ops that take the most time (stderr)"
    )
    p.set_defaults(func=cmd_bench)
