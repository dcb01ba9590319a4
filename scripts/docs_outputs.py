"""Write the generated parts of the documentation: command outputs and result tables, each with the command,
commit, date and machine that produced it.

    python scripts/docs_outputs.py checks                 # `pinnkan check` of the documented problem files
    python scripts/docs_outputs.py suite RUN_DIR NAME     # a `pinnkan suite` folder as docs/results/NAME.md
    python scripts/docs_outputs.py readme RUN_DIR         # the README's headline table from the held-out runs
    python scripts/docs_outputs.py sweep SWEEP_DIR NAME   # a `pinnkan sweep` folder as docs/results/NAME.md
    python scripts/docs_outputs.py bench [BENCH ARGS]     # run `pinnkan bench`, its table as docs/results/bench.md
    python scripts/docs_outputs.py two-jobs               # scripts/two_jobs.sh per spin policy: two-jobs.md

Nothing in docs/generated or docs/results is typed by hand: the documentation build rewrites the first (the
mkdocs hook runs `checks`), and `make results` reruns the suites, sweeps and benchmark behind the second.
"""

from __future__ import annotations

import csv
import datetime
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "docs" / "generated"
RESULTS = ROOT / "docs" / "results"
# the problem files whose `pinnkan check` the docs show
CHECKED = ("benchmarks/heldout/cavity.py", "examples/plate_with_hole.py")


def provenance(command: str) -> str:
    """A caption line: command, commit, date, machine."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cores = os.cpu_count()
    machine = f"{platform.machine()}, {cores} cores, Python {platform.python_version()}"
    return f"Produced by `{command}` at commit {commit} on {datetime.date.today()} ({machine})."


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def checks() -> None:
    """Each documented file must check clean: a page showing a problem pinnkan found would document a fault."""
    for rel in CHECKED:
        stem = Path(rel).stem
        picture = GENERATED / f"{stem}-check.png"
        command = f"pinnkan check {rel} --out docs/generated/{picture.name}"
        done = subprocess.run(
            [sys.executable, "-m", "pinnkan", "check", rel, "--out", str(picture)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env={**os.environ, "PINNKAN_NO_PROGRESS": "1"},
        )
        if done.returncode != 0 or not picture.exists():
            said = (done.stderr.strip() or done.stdout.strip()).splitlines()[-3:]
            raise SystemExit(f"pinnkan check {rel} failed (exit {done.returncode}): {' / '.join(said)}")
        out = done.stdout.replace(str(picture), picture.name)
        write(GENERATED / f"{stem}-check.md", f"{provenance(command)}\n\n```\n{out}```\n")
        print(f"wrote {GENERATED / f'{stem}-check.md'} and {picture}")


def times(ratio: float) -> str:
    """A ratio as '319x', '2.5x' or '0.46x'."""
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.2g}x"


def shrink(src: Path, dst: Path, size: int = 720) -> None:
    """A copy of a run's picture at most ``size`` pixels wide, in 64 colours (the docs keep many)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        im.thumbnail((size, size))
        im.quantize(64).save(dst, optimize=True)


def suite(run_dir: str, name: str) -> None:
    """docs/results/NAME.md from a `pinnkan suite` folder: its results.csv as a table, the command, date and
    commit from its results.md, each run's solution and loss pictures copied beside the page (the runs are
    read, not rerun); where PINNacle has a task of the problem's class, its best figure and the ratio."""
    folder = Path(run_dir)
    rows = list(csv.DictReader((folder / "results.csv").open()))
    head = (folder / "results.md").read_text().splitlines()[0] if (folder / "results.md").exists() else ""
    unfinished = f"Runs in `{run_dir}`, from a suite not finished when this page was written ({len(rows)} rows)."
    lines = [head.replace("Produced by", "Runs produced by") or unfinished, ""]
    lines.append(provenance(f"python scripts/docs_outputs.py suite {run_dir} {name}"))
    lines += ["", "| problem | surrogate | params | rel_l2 | rel_h1 | train s | outcome | PINNacle best | pictures |"]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    pictures = RESULTS / name
    for r in rows:
        def fmt(v: str) -> str:
            try:
                return f"{float(v):.2e}"
            except ValueError:
                return v

        links = []
        for kind in ("solution", "loss_curves"):
            src = folder / "runs" / r["problem"] / f"{kind}.png"
            if src.is_file():
                dst = pictures / f"{r['problem']}-{kind}.png"
                dst.parent.mkdir(parents=True, exist_ok=True)
                shrink(src, dst)
                links.append(f"[{kind.split('_')[0]}]({name}/{dst.name})")
        cls, best = PINNACLE.get(r["problem"], ("", None))
        versus = ""
        if best is not None:
            try:
                versus = f"{best:.1e} ({cls}; {times(best / float(r['rel_l2']))})"
            except (ValueError, ZeroDivisionError):
                versus = f"{best:.1e} ({cls})"
        wall = f"{float(r['wall_s']):.0f}" if r.get("wall_s") else ""
        outcome = r.get("outcome", "") if r["status"] == "ok" else r["status"][:60]
        lines.append(
            f"| {r['problem']} | {r['surrogate']} | {r['params']} | {fmt(r['rel_l2'])} | {fmt(r['rel_h1'])} | "
            f"{wall} | {outcome} | {versus} | {' '.join(links)} |"
        )
    folder_of_files = ROOT / "benchmarks" / name  # the suite's problem files, where the page is named after them
    done = {r["problem"] for r in rows}
    for missing in sorted(p.stem for p in folder_of_files.glob("*.py") if p.stem not in done):
        lines.append(f"| {missing} |  |  |  |  |  | not run |  |  |")
    write(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


# PINNacle's best published L2RE per task class (Hao et al., NeurIPS 2024, Table 3), for the held-out problems
# of that class; None where PINNacle has no such task
PINNACLE = {
    "burgers_two_modes": ("Burgers 1-D", 1.43e-2),
    "cavity": ("Navier-Stokes lid-driven", 3.60e-2),
    "heat_rough": ("heat, varying coefficient", 2.12e-1),
    "helmholtz_holes": ("Poisson-Boltzmann, holes", 1.43e-2),
    "poisson3d_holes": ("Poisson 3-D, cube minus spheres", 1.02e-1),
    "heat5d": ("heat 5-D", 1.19e-4),
    "ks": ("Kuramoto-Sivashinsky", 9.57e-1),
    "wave2d": ("wave 2-D", 7.94e-1),
    "inverse_diffusivity": ("inverse heat", 1.19e-2),
}


def readme(run_dir: str, path: Path = ROOT / "README.md") -> None:
    """The README's table between its results markers: each held-out problem's rel_l2 and PINNacle's best
    figure for its class, with the provenance line."""
    folder = Path(run_dir)
    rows = list(csv.DictReader((folder / "results.csv").open()))
    lines = [provenance(f"python scripts/docs_outputs.py readme {run_dir}"), ""]
    lines += ["| held-out problem | rel_l2 | outcome | PINNacle class | its best (MLP) | ratio |"]
    lines += ["|---|---|---|---|---|---|"]
    for r in rows:
        cls, best = PINNACLE.get(r["problem"], ("", None))
        try:
            rel = f"{float(r['rel_l2']):.1e}"
        except ValueError:
            rel = r["status"][:30]
        ratio = ""
        if best:
            try:
                ratio = times(best / float(r["rel_l2"]))
            except (ValueError, ZeroDivisionError):
                pass
        best_text = f"{best:.1e}" if best else ""
        lines.append(f"| {r['problem']} | {rel} | {r.get('outcome', '')} | {cls} | {best_text} | {ratio} |")
    text = path.read_text()
    start, end = text.index("<!-- results:start -->"), text.index("<!-- results:end -->")
    write(path, text[: start + len("<!-- results:start -->")] + "\n" + "\n".join(lines) + "\n" + text[end:])
    print(f"wrote the results table of {path}")


def sweep(sweep_dir: str, name: str) -> None:
    """docs/results/NAME.md from a `pinnkan sweep` folder: its command and configuration, each point's
    figures (results.csv), the fitted exponents (fits.json), the headline, and scaling.png beside the page."""
    import json

    sys.path.insert(0, str(ROOT))
    from pinnkan.sweeps.fits import headline
    from pinnkan.sweeps.results import read_results

    folder = Path(sweep_dir)
    rows = read_results(folder)
    fits = json.loads((folder / "fits.json").read_text()) if (folder / "fits.json").exists() else {}
    meta = json.loads((folder / "sweep.json").read_text()) if (folder / "sweep.json").exists() else {}
    config = meta.get("config", {})
    problem = config.get("sweep", {}).get("problem", "")
    lines = [f"# Sweep on `{problem}`: error against parameters, per surrogate family", ""]
    lines += [provenance(f"python scripts/docs_outputs.py sweep {sweep_dir} {name}"), ""]
    lines += [f"Runs in `{sweep_dir}`, {len(rows)} points (wall seconds as run, by `pinnkan sweep`'s workers side by"]
    lines += ["side); the sweep's configuration:", "", "```toml"]
    lines += [_toml(config), "```", "", f"**Headline.** {headline(rows, fits)}", ""]

    def fmt(v) -> str:
        try:
            return f"{float(v):.2e}"
        except (TypeError, ValueError):
            return str(v or "")

    lines += ["| family | width | grid | params | mse | rel_l2 | rel_h1 | wall s | status |"]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        grid = r.get("grid") if str(r.get("grid", "")) not in ("", "None") else ""
        wall = f"{float(r['wall_s']):.0f}" if r.get("wall_s") not in ("", None) else ""
        lines.append(
            f"| {r['family']} | {r['width']} | {grid} | {r.get('params', '')} | {fmt(r.get('mse'))} | "
            f"{fmt(r.get('rel_l2'))} | {fmt(r.get('rel_h1'))} | {wall} | {str(r.get('status', ''))[:40]} |"
        )
    families = {f: by for f, by in fits.items() if f != "ladders"}
    exps = [(f, m, v) for f, by in families.items() for m, v in by.items() if v.get("exponent") is not None]
    if exps:
        lines += ["", "Fitted exponents (error ~ params^p over the family's points):", ""]
        lines += ["| family | metric | p | 95% interval |", "|---|---|---|---|"]
        for family, metric, v in exps:
            ci = v.get("ci95")
            interval = f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            lines.append(f"| {family} | {metric} | {v['exponent']:.2f} | {interval} |")
    if (folder / "scaling.png").is_file():
        (RESULTS / name).mkdir(parents=True, exist_ok=True)
        shrink(folder / "scaling.png", RESULTS / name / "scaling.png", 900)
        lines += ["", f"![error against parameters per family]({name}/scaling.png)"]
    write(RESULTS / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / f'{name}.md'}")


def _toml(spec: dict, prefix: str = "") -> str:
    """A sweep's configuration back as TOML text (tables of scalars and lists; enough for the page)."""
    import json

    plain = {k: v for k, v in spec.items() if not isinstance(v, dict)}
    out = [f"[{prefix}]"] if prefix and plain else []
    out += [f"{k} = {json.dumps(v)}" for k, v in plain.items()]
    for k, v in spec.items():
        if isinstance(v, dict):
            out.append(_toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(x for x in out if x)


def bench(args: list[str]) -> None:
    """Run `pinnkan bench ARGS` here and now; its table as docs/results/bench.md, with the command."""
    command = ["pinnkan", "bench", *args]
    done = subprocess.run(
        [sys.executable, "-m", "pinnkan", "bench", *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip().splitlines()[-1:]}")
    lines = [
        "# Derivative engines: time and memory",
        "",
        provenance(" ".join(command)),
        "",
        "One loss-and-gradient evaluation per engine, on the same points and weights, medians of the timed",
        "evaluations; ratios against the reference engine (nested reverse mode over the reference formulation).",
        "",
        "```",
        done.stdout.rstrip(),
        "```",
    ]
    write(RESULTS / "bench.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'bench.md'}")


# the spin policies compared by `two-jobs`: pinnkan's default, and GNU OpenMP's own default spin count
SPIN_POLICIES = (("pinnkan's default", "GOMP_SPINCOUNT=1000"), ("GNU OpenMP's default", "GOMP_SPINCOUNT=300000"))


def two_jobs() -> None:
    """Run scripts/two_jobs.sh under each spin policy here and now (one run alone, then two at once); its
    lines as docs/results/two-jobs.md."""
    lines = [
        "# Two runs on one machine",
        "",
        provenance("python scripts/docs_outputs.py two-jobs"),
        "",
        "`scripts/two_jobs.sh LABEL VAR=VALUE` runs `pinnkan solve poisson --optimizer adam+lbfgs --steps 300`",
        "alone, then twice at the same time, and prints each run's wall and training seconds. Single runs on",
        "whatever else the machine was doing: read the ratios, not the last digit.",
        "",
        "```",
    ]
    for label, setting in SPIN_POLICIES:
        done = subprocess.run(
            ["bash", "scripts/two_jobs.sh", label, setting], cwd=ROOT, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise SystemExit(f"scripts/two_jobs.sh {label!r} {setting} failed: {done.stderr.strip()[-300:]}")
        lines.append(f"$ scripts/two_jobs.sh \"{label}\" {setting}")
        lines += done.stdout.rstrip().splitlines()
    lines.append("```")
    write(RESULTS / "two-jobs.md", "\n".join(lines) + "\n")
    print(f"wrote {RESULTS / 'two-jobs.md'}")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "checks":
        checks()
    elif len(sys.argv) == 4 and sys.argv[1] == "suite":
        suite(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "readme":
        readme(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "sweep":
        sweep(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "two-jobs":
        two_jobs()
    elif len(sys.argv) >= 2 and sys.argv[1] == "bench":
        bench(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
