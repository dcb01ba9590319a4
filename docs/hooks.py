"""mkdocs hooks: the reference pages written from the code itself before every build.

- ``reference/cli.md``: every command's ``--help``;
- ``reference/configuration.md``: every configuration key of the schema (the registries' own included);
- ``reference/problems.md`` and ``reference/problems/<name>.md``: one page per built-in problem from the
  registry (its equation, domain, conditions, solution, default plan) with ``pinnkan check``'s picture;
- ``generated/<file>-check.md``: ``pinnkan check`` of the problem files the tutorials show;
- ``changelog.md``: the repository's CHANGELOG.md; ``index.md``: its README.

None of these files is kept in git: they are rewritten from the code at every build, so they cannot drift.
"""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stdout
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _cli() -> str:
    from pinnkan.cli import build_parser

    parser = build_parser()
    out = ["# Command line", "", "Every command's `--help`, as the installed `pinnkan` prints it.", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        out += [f"## `pinnkan {name}`", "", "```", p.format_help().rstrip(), "```", ""]
    return "\n".join(out)


def _configuration() -> str:
    from pinnkan.config import schema

    out = [
        "# Configuration keys",
        "",
        "Every key, by section, as `--set SECTION.KEY=VALUE`, a `--config` TOML file or `pinnkan.solve(KEY=...)`"
        " set it. A default of `None` is filled in by the problem's defaults, the plan or the surrogate"
        " ([Plans and budgets](../planning.md)).",
        "",
    ]
    for section, keys in schema().items():
        out += [f"## `[{section}]`", "", "| key | type | default | choices | meaning |", "|---|---|---|---|---|"]
        for name, key in keys.items():
            choices = ", ".join(key.allowed()) if key.allowed() else ""
            text = key.help.replace("|", "\\|")
            out.append(f"| `{name}` | {key.kind} | `{key.default}` | {choices} | {text} |")
        out.append("")
    return "\n".join(out)


def _problem_page(name: str, cls) -> str:
    from pinnkan.check import draw, report
    from pinnkan.solve import configure

    problem = cls()
    cfg = configure(problem, None, None, {})
    lines, issues, points = report(problem, cfg)
    (DOCS / "reference" / "problems").mkdir(parents=True, exist_ok=True)
    draw(problem, points, DOCS / "reference" / "problems" / f"{name}.png")
    doc = (cls.__doc__ or "").strip()
    out = [f"# `{name}`", "", cls.description, ""]
    if doc:
        out += [doc, ""]
    out += ["What `pinnkan check` reads from its declaration, and its default plan:", "", "```", *lines, "```", ""]
    out += [f"![{name}: sampled points by condition]({name}.png)", ""]
    return "\n".join(out)


def _problems() -> None:
    from pinnkan.registry import builtin_problems

    index = [
        "# Built-in problems",
        "",
        "Each page is written from the registry at build time: the declaration as `pinnkan check` reads it,"
        " the plan its defaults make, and its sampled points.",
        "",
        "| problem | description |",
        "|---|---|",
    ]
    for name, cls in builtin_problems().items():
        _write(DOCS / "reference" / "problems" / f"{name}.md", _problem_page(name, cls))
        index.append(f"| [`{name}`](problems/{name}.md) | {cls.description} |")
    _write(DOCS / "reference" / "problems.md", "\n".join(index) + "\n")


def _checks() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs_outputs
    finally:
        sys.path.pop(0)
    with redirect_stdout(io.StringIO()):
        docs_outputs.checks()


def _home() -> str:
    """The README as the site's home page: its links made relative to docs/, its results table left to the
    results page (the README's copy is for readers of the repository)."""
    home = (ROOT / "README.md").read_text().replace("](docs/", "](").replace("](CHANGELOG.md)", "](changelog.md)")
    start, end = home.find("<!-- results:start -->"), home.find("<!-- results:end -->")
    if start >= 0 and end >= 0:
        note = "The table, with its date, commit and machine, is on the [held-out results](results/heldout.md) page."
        home = home[:start] + note + home[end + len("<!-- results:end -->") :]
    return home


def on_pre_build(config, **kwargs) -> None:
    os.environ.setdefault("PINNKAN_NO_PROGRESS", "1")
    import matplotlib

    matplotlib.use("Agg")
    _write(DOCS / "changelog.md", (ROOT / "CHANGELOG.md").read_text())
    _write(DOCS / "index.md", _home())
    _write(DOCS / "reference" / "cli.md", _cli())
    _write(DOCS / "reference" / "configuration.md", _configuration())
    _problems()
    _checks()
