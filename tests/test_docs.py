"""Every code block of the README and the documentation runs: python blocks are executed, every `pinnkan`
command of a shell block is parsed by the command line and, for solve and check, resolved to its full
configuration and plan (the training itself is what the rest of the suite tests)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# pages written at build time from the code (gitignored): their blocks are the code's own output
GENERATED = ("reference/", "generated/", "changelog.md", "index.md")
PAGES = [ROOT / "README.md"] + [
    p for p in sorted((ROOT / "docs").rglob("*.md")) if not str(p.relative_to(ROOT / "docs")).startswith(GENERATED)
]


def blocks(lang: str) -> list[tuple[str, str]]:
    out = []
    for page in PAGES:
        for i, body in enumerate(re.findall(rf"```{lang}\n(.*?)```", page.read_text(), re.S)):
            out.append((f"{page.relative_to(ROOT)}#{i}", body))
    return out


def commands() -> list[tuple[str, list[str]]]:
    out = []
    for where, body in blocks("sh"):
        for line in body.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("pinnkan "):
                out.append((where, shlex.split(line)[1:]))
    return out


# the python blocks that train: they run as written, in the slow checks
TRAINS = ("docs/getting-started.md",)


@pytest.mark.parametrize("where, code", [b for b in blocks("python") if not b[0].startswith(TRAINS)])
def test_python_blocks_run(where, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, where, "exec"), {"__name__": "docs_block"})


@pytest.mark.slow
@pytest.mark.parametrize("where, code", [b for b in blocks("python") if b[0].startswith(TRAINS)])
def test_python_blocks_that_train_run(where, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, where, "exec"), {"__name__": "docs_block"})


@pytest.mark.parametrize("where, argv", commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_shell_commands_parse_and_resolve(where, argv, tmp_path, monkeypatch):
    from pinnkan.cli import build_parser, config_from_args
    from pinnkan.errors import UserError
    from pinnkan.solve import configure, load_problem

    args = build_parser().parse_args(argv)  # an unknown command or option raises UserError here
    if args.command not in ("solve", "check") or getattr(args, "resume", None) or not args.problem:
        return
    problem_name = args.problem
    if problem_name.endswith(".py") and not (ROOT / problem_name).exists():
        pytest.skip(f"{problem_name} is the page's own example file")
    monkeypatch.chdir(ROOT)
    cfg = config_from_args(args, problem_name)
    try:
        problem = load_problem(problem_name, **{k: v for k, v in cfg["problem"].items() if k != "name"})
        configure(problem, cfg["model"]["kind"], cfg, {})
    except UserError as exc:
        raise AssertionError(f"{where}: pinnkan {' '.join(argv)}: {exc}") from None


def test_every_page_has_its_code_collected():
    """The collectors see blocks on the pages that have them (a changed fence style would hide them)."""
    assert len(blocks("python")) >= 8 and len(commands()) >= 20
