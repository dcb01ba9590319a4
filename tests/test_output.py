"""Outputs appear whole or not at all: files by temp-and-rename, run folders by staging-and-rename."""

import pytest

import pinnkan
from pinnkan import plots
from pinnkan.output import atomic_write, write_json
from pinnkan.runfolder import write_run


def test_atomic_write_leaves_nothing_when_the_writer_fails(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"old": 1})

    def broken(path):
        path.write_text('{"new": ')  # half a file, then a failure
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text().strip().replace(" ", "").replace("\n", "") == '{"old":1}'
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


@pytest.fixture(scope="module")
def tiny_solution():
    return pinnkan.solve(
        "poisson_sinsin",
        "kan",
        width=[2, 3, 1],
        grids=[3],
        steps=2,
        adam_steps=1,
        n_interior=64,
        n_boundary=16,
        progress=False,
    )


def test_run_folder_is_complete_or_absent(tmp_path, monkeypatch, tiny_solution):
    out = tmp_path / "run"
    write_run(tiny_solution, out)
    files = {p.name: p.read_bytes() for p in out.iterdir()}
    assert set(files) == {"config.json", "history.csv", "metrics.json", "model.pt", "loss_curves.png", "solution.png"}

    def fail(*args, **kwargs):
        raise RuntimeError("plotting broke")

    monkeypatch.setattr(plots, "solution_fields", fail)
    with pytest.raises(RuntimeError, match="plotting broke"):
        write_run(tiny_solution, out)  # replacing the complete run fails half-way...
    assert {p.name: p.read_bytes() for p in out.iterdir()} == files  # ...and leaves it untouched
    with pytest.raises(RuntimeError):
        write_run(tiny_solution, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial folder, no staging left
