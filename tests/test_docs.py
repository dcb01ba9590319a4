"""Every code block of the README and the documentation runs: python blocks are executed, every `pinnkan`
command of a shell block is parsed by the command line and, for solve and check, resolved to its full
configuration and plan (the training itself is what the rest of the suite tests)."""

from __future__ import annotations

import re
import shlex
import sys
import types
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


def run_block(where: str, code: str, monkeypatch) -> None:
    """Run a page's block as a module of its own (dataclasses look their module up in sys.modules)."""
    module = types.ModuleType("docs_block")
    monkeypatch.setitem(sys.modules, "docs_block", module)
    exec(compile(code, where, "exec"), module.__dict__)


# the python blocks that train: they run as written, in the slow checks
TRAINS = ("docs/getting-started.md",)


@pytest.mark.parametrize("where, code", [b for b in blocks("python") if not b[0].startswith(TRAINS)])
def test_python_blocks_run(where, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_block(where, code, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("where, code", [b for b in blocks("python") if b[0].startswith(TRAINS)])
def test_python_blocks_that_train_run(where, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run_block(where, code, monkeypatch)


@pytest.mark.parametrize("where, argv", commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_shell_commands_parse_and_resolve(where, argv, tmp_path, monkeypatch):
    from pinnkan.cli import build_parser, config_from_args
    from pinnkan.errors import UserError
    from pinnkan.solve import configure, load_problem

    if "--help" in argv or "-h" in argv:
        with pytest.raises(SystemExit) as stop:
            build_parser().parse_args(argv)
        assert stop.value.code == 0
        return
    args = build_parser().parse_args(argv)  # an unknown command or option raises UserError here
    if args.command not in ("solve", "check") or getattr(args, "resume", None) or not args.problem:
        return
    problem_name = args.problem
    if problem_name.endswith(".py") and not (ROOT / problem_name).exists():
        pytest.skip(f"{problem_name} is the page's own example file")
    monkeypatch.chdir(ROOT)
    data = getattr(args, "data.observations", None)
    if data and not Path(data).exists():  # the reader's own measurements: the file is written to stand in
        setattr(args, "data.observations", str(tmp_path / Path(data).name))
        (tmp_path / Path(data).name).write_text(_stand_in_data(problem_name))
    cfg = config_from_args(args, problem_name)
    try:
        problem = load_problem(problem_name, **{k: v for k, v in cfg["problem"].items() if k != "name"})
        configure(problem, cfg["model"]["kind"], cfg, {})
    except UserError as exc:
        raise AssertionError(f"{where}: pinnkan {' '.join(argv)}: {exc}") from None


def _stand_in_data(problem_name: str) -> str:
    """A few observations inside the problem's domain, in the data-file format (coordinates, then fields)."""
    from pinnkan.solve import load_problem

    problem = load_problem(problem_name)
    x = problem.interior(8, seed=0)
    rows = [",".join([*problem.coords, *problem.fields])]
    rows += [",".join(f"{v:.6g}" for v in (*p, *([0.0] * len(problem.fields)))) for p in x]
    return "\n".join(rows) + "\n"


def test_every_page_has_its_code_collected():
    """The collectors see blocks on the pages that have them (a changed fence style would hide them)."""
    assert len(blocks("python")) >= 8 and len(commands()) >= 20


def test_check_pages_are_written_into_a_folder_a_fresh_clone_lacks(tmp_path):
    """docs/generated is not in git: on a fresh clone the build must make it, pictures included (a picture
    missing there fails the strict build)."""
    from .conftest import docs_outputs

    gen = docs_outputs()
    gen.GENERATED = tmp_path / "generated"
    gen.checks()
    for rel in gen.CHECKED:
        stem = Path(rel).stem
        assert (gen.GENERATED / f"{stem}-check.png").stat().st_size > 1000
        assert "problems found: none" in (gen.GENERATED / f"{stem}-check.md").read_text()
