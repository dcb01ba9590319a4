"""The documented examples: the Python API example of getting-started runs as written and trains; the
architecture page's examples work together; the problem files the pages show are the example files."""

import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"
DOCS = README.parent / "docs"


def first_python_block(section: str, page: Path = DOCS / "getting-started.md") -> str:
    text = page.read_text()
    start = text.index(f"## {section}\n")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block under '## {section}'"
    return match.group(1)


def test_python_api_example_runs_verbatim(tmp_path):
    code = first_python_block("From Python")
    env = {**os.environ, "PINNKAN_NO_PROGRESS": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("ok ")
    errors = dict(line.split() for line in lines[1:5])
    assert set(errors) == {"mse", "rel_l2", "h1_mse", "rel_h1"}
    assert float(errors["rel_l2"]) < 0.05  # a trained KAN, not an untrained one
    assert not list(tmp_path.iterdir())  # the library call writes nothing


def test_architecture_examples_run(monkeypatch):
    """Every python block of docs/architecture.md runs, and the parts it defines work together."""
    import torch

    import pinnkan
    from pinnkan.jet import autograd_jet
    from pinnkan.surrogates import SURROGATES
    from pinnkan.training import PHASES

    text = (README.parent / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 5
    monkeypatch.setitem(SURROGATES, "sinnet", None)  # registered by the examples, removed after the test
    monkeypatch.setitem(PHASES, "sgd", None)
    ns: dict = {}
    for block in blocks:
        exec(block, ns)
    problem = ns["Bump"]()
    tiny = {"n_interior": 64, "n_boundary": 16, "progress": False, "log_every": 1, "lr": 1e-3}
    s = pinnkan.solve(
        problem, "sinnet", optimizer="adam+sgd", adam_steps=2, steps=3, callbacks=[ns["StopAtError"](10.0)], **tiny
    )
    assert s.stop_reasons == ["adam: rel_l2 below 10"] and s.steps == 1 and s.model.widths == [2, 32, 32, 1]
    s = pinnkan.solve(problem, "sinnet", optimizer="adam+sgd", adam_steps=2, steps=3, **tiny)
    assert s.stop_reasons == ["adam: 2 steps done", "sgd: 3 steps done"]
    pin = ns["Pin"](at=(0.5, 0.5), value=1.0)
    x = torch.as_tensor(pin.points(problem, 10, 0))
    jet = autograd_jet(problem.exact, x, 0, problem.coords, problem.fields)
    assert x.shape == (1, 2) and abs(float(pin.residual(problem, x, jet).detach())) < 1e-12


def test_docs_show_the_example_problem_files():
    """The plate-with-hole block of the docs is the class in examples/plate_with_hole.py, and the README's
    cavity is the held-out benchmark's, line for line (its reference aside)."""
    text = (DOCS / "tutorials" / "no-solution.md").read_text()
    block = text[text.index("class PlateWithHole") :].split("```")[0]
    example = (README.parent / "examples" / "plate_with_hole.py").read_text()
    for line in block.splitlines():
        code = line.split("  #")[0].rstrip()
        if code.strip():
            assert code in example, code
    cavity = (README.parent / "benchmarks" / "heldout" / "cavity.py").read_text()
    block = README.read_text().split("```python\n")[1].split("```")[0]
    assert "class Cavity(Problem)" in block and 'fields=("u", "v")' in block and "PointSet" in block
    for needle in ('fields = ("u", "v", "p")', "domain = Box((0.0, 0.0), (1.0, 1.0))", 'jet["u"], jet["v"], jet["p"]'):
        assert needle in block and needle in cavity
