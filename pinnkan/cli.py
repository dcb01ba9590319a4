"""The ``pinnkan`` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pinnkan.config import defaults, load_toml, merge_toml, schema, set_key
from pinnkan.errors import UserError

# option -> config key; every key is also reachable with --set section.key=value
SOLVE_FLAGS: dict[str, str] = {
    "--model": "model.kind",
    "--width": "model.width",
    "--grid": "model.grid",
    "--k": "model.k",
    "--optimizer": "train.optimizer",
    "--steps": "train.steps",
    "--adam-steps": "train.adam_steps",
    "--lr": "train.lr",
    "--grids": "train.grids",
    "--alpha": "train.alpha",
    "--max-time": "train.max_time",
    "--windows": "train.windows",
    "--checkpoint-every": "run.checkpoint_every",
    "--on-divergence": "run.on_divergence",
    "--n-interior": "data.n_interior",
    "--n-boundary": "data.n_boundary",
    "--reference": "data.reference",
    "--data": "data.observations",
    "--dtype": "run.dtype",
    "--device": "run.device",
    "--seed": "run.seed",
    "--derivatives": "run.derivatives",
    "--log-every": "run.log_every",
    "--out": "run.out",
}


class Parser(argparse.ArgumentParser):
    """argparse that reports a user's mistake as one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def _help(key: str) -> str:
    section, name = key.split(".")
    k = schema()[section][name]
    choices = f" [{'|'.join(k.allowed())}]" if k.allowed() else ""
    default = "" if k.default is None else f" (default {k.default})"
    return f"{k.help or name}{choices}{default}"


def add_solve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML file of settings ([problem], [model], [data], [train], [run])")
    for flag, key in SOLVE_FLAGS.items():
        p.add_argument(flag, dest=key, default=None, metavar=key.split(".")[1].upper(), help=_help(key))
    p.add_argument(
        "--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="any setting, e.g. problem.k=2"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def config_from_args(args: argparse.Namespace, problem: str | None) -> dict:
    """defaults < --config file < options (--set, then the named flags)."""
    cfg = defaults()
    if args.config:
        merge_toml(cfg, load_toml(args.config), args.config)
    if problem is not None:
        cfg["problem"]["name"] = problem
    for item in args.set:
        if "=" not in item:
            raise UserError(f"--set {item!r} must look like section.key=value")
        key, value = item.split("=", 1)
        set_key(cfg, key.strip(), value.strip())
    for key in SOLVE_FLAGS.values():
        value = getattr(args, key)
        if value is not None:
            set_key(cfg, key, value)
    if args.no_progress:
        cfg["run"]["progress"] = False
    return cfg


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def cmd_solve(args: argparse.Namespace) -> int:
    from pinnkan.distributed import finish, init_from_env, launch
    from pinnkan.runfolder import resume_run, solve_config
    from pinnkan.training.signals import exit_code

    if args.nproc is not None and args.nproc < 1:
        raise UserError("--nproc must be at least 1")
    if (args.nproc or 1) > 1 and "WORLD_SIZE" not in os.environ:
        if not args.resume and not args.problem:
            raise UserError("pinnkan solve: give a PROBLEM (see 'pinnkan list') or --resume DIR")
        return launch(_without_nproc(args.argv), args.nproc)
    init_from_env(getattr(args, "run.device", None) or "cpu")

    if args.resume:
        given = [f for f, key in SOLVE_FLAGS.items() if getattr(args, key) is not None]
        if args.problem or args.config or args.set or given:
            raise UserError("--resume DIR continues a run with its own settings: give no problem or other settings")
        m = resume_run(args.resume, progress=False if args.no_progress else None)
    elif not args.problem:
        raise UserError("pinnkan solve: give a PROBLEM (see 'pinnkan list') or --resume DIR")
    else:
        m = solve_config(config_from_args(args, args.problem))
    finish()  # on an error the launcher ends every process; here all have ended well
    if m["status"] == "diverged":
        print(
            f"pinnkan: training diverged ({m['stop_reasons'][-1]}); the last good state is in {m['out']}",
            file=sys.stderr,
        )
        return 3
    if m["status"] == "interrupted":
        return exit_code(m.get("stopped_by")) or 130
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from pinnkan.registry import builtin_problems

    problems = builtin_problems()
    width = max(len(n) for n in problems)
    for name, cls in problems.items():
        print(f"{name:<{width}}  {cls.description}")
    return 0


def build_parser() -> Parser:
    from pinnkan import __version__

    parser = Parser(prog="pinnkan", description="Physics-informed KANs (and MLPs) for PDEs.")
    parser.add_argument("--version", action="version", version=f"pinnkan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("solve", help="train a surrogate on one problem", description="Train a PINN on PROBLEM.")
    p.add_argument("problem", nargs="?", help="registered problem (see 'pinnkan list') or a path to a problem .py file")
    p.add_argument("--resume", metavar="DIR", help="continue the run at DIR from its last checkpoint")
    p.add_argument(
        "--nproc",
        type=int,
        default=None,
        metavar="N",
        help="train data-parallel on N processes of this machine (gloo on CPU, NCCL with --device cuda); "
        "under torchrun the processes are torchrun's",
    )
    add_solve_options(p)
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("list", help="list the registered problems", description="List the registered problems.")
    p.set_defaults(func=cmd_list)
    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands():
    """Subcommands living in their own modules (bench, sweep, ...): each has register(sub)."""
    import importlib

    out = []
    for name in (
        "pinnkan.check",
        "pinnkan.bench",
        "pinnkan.suite",
        "pinnkan.sweeps.cli",
        "pinnkan.evaluate",
        "pinnkan.interpret.cli",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        out.append(module.register)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        if getattr(args, "no_progress", False) is False and os.environ.get("PINNKAN_NO_PROGRESS"):
            args.no_progress = True
        return args.func(args)
    except UserError as exc:
        msg = str(exc)
        if os.environ.get("RANK", "0") != "0":  # a data-parallel run: rank 0 says it, once
            return 2
        print(msg if msg.startswith("pinnkan") else f"pinnkan: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pinnkan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `pinnkan list | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
