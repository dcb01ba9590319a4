"""Runs that survive: checkpoints and --resume, SIGKILL, SIGINT/SIGTERM, divergence, determinism, bad folders."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pinnkan.cli import main
from pinnkan.output import RunDir

from .conftest import fail_checkpoint_write

# float64, small enough for seconds, long enough to be killed in the middle
RUN = [
    "poisson_sinsin", "--width", "2,3,1", "--grids", "3,5", "--adam-steps", "20", "--steps", "60",
    "--n-interior", "400", "--n-boundary", "40", "--log-every", "5", "--checkpoint-every", "7",
    "--set", "train.tolerance=0", "--optimizer", "adam+lbfgs",
]  # fmt: skip
RUN_LM = [*RUN, "--optimizer", "adam+lm"]  # the last --optimizer wins
ENV = {**os.environ, "PINNKAN_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}


def cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "pinnkan", *args], capture_output=True, text=True, env=ENV, **kwargs)


def start(*args):
    return subprocess.Popen([sys.executable, "-m", "pinnkan", *args], stderr=subprocess.PIPE, text=True, env=ENV)


def wait_for_checkpoints(out: Path, count: int, proc, timeout: float = 120) -> None:
    """Until the staging folder's checkpoint has been written ``count`` times."""
    ckpt = RunDir.staging(out) / "checkpoint.pt"
    seen, last, deadline = 0, None, time.time() + timeout
    while seen < count and time.time() < deadline and proc.poll() is None:
        stamp = ckpt.stat().st_mtime_ns if ckpt.exists() else None
        if stamp is not None and stamp != last:
            seen, last = seen + 1, stamp
        time.sleep(0.02)
    assert seen >= count, f"saw {seen} checkpoints"


def history(out: Path) -> list[dict]:
    with (out / "history.csv").open() as fh:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(fh)]


def metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run every interrupted one must reproduce."""
    out = tmp_path_factory.mktemp("ref") / "run"
    done = cli("solve", *RUN, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out


@pytest.mark.slow
def test_sigkill_then_resume_equals_the_uninterrupted_run(tmp_path, reference):
    _kill_and_resume(tmp_path, reference, RUN)


@pytest.mark.slow
def test_sigkill_then_resume_with_lm_equals_the_uninterrupted_run(tmp_path):
    reference = tmp_path / "ref"
    done = cli("solve", *RUN_LM, "--out", str(reference))
    assert done.returncode == 0, done.stderr
    assert "lm" in (reference / "history.csv").read_text()
    _kill_and_resume(tmp_path, reference, RUN_LM)


def _kill_and_resume(tmp_path, reference, run):
    out = tmp_path / "run"
    proc = start("solve", *run, "--out", str(out))
    wait_for_checkpoints(out, 4, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists() and (RunDir.staging(out) / "checkpoint.pt").exists()
    done = cli("solve", "--resume", str(out))
    assert done.returncode == 0, done.stderr
    assert "resuming" in done.stderr
    # bit-identical: same parameters, optimizer state and points go into the same steps
    assert history(out) == history(reference)
    m, ref = metrics(out), metrics(reference)
    assert (m["mse"], m["rel_l2"], m["steps"], m["status"]) == (ref["mse"], ref["rel_l2"], ref["steps"], "ok")
    assert not RunDir.staging(out).exists()


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_everything_and_leaves_a_resumable_run(tmp_path, reference, sig, code):
    out = tmp_path / "run"
    proc = start("solve", *RUN, "--out", str(out))
    wait_for_checkpoints(out, 3, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    m = metrics(out)
    assert m["status"] == "interrupted" and m["stopped_by"] == sig.name
    assert {p.name for p in out.iterdir()} >= {
        "config.json",
        "history.csv",
        "metrics.json",
        "model.pt",
        "checkpoint.pt",
    }
    assert m["steps"] < metrics(reference)["steps"]
    done = cli("solve", "--resume", str(out))
    assert done.returncode == 0, done.stderr
    # the same rows as the uninterrupted run, plus the one logged where the signal stopped it
    rows, ref = history(out), history(reference)
    assert [r for r in rows if r in ref] == ref and len(rows) - len(ref) <= 1
    m, want = metrics(out), metrics(reference)
    assert (m["mse"], m["rel_h1"], m["steps"], m["status"]) == (want["mse"], want["rel_h1"], want["steps"], "ok")
    assert any(f"interrupted by {sig.name}" in r for r in m["stop_reasons"])


def test_divergence_exits_3_with_intact_outputs(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["solve", "poisson_sinsin", "--width", "2,3,1", "--grids", "3", "--optimizer", "adam", "--lr", "1e30"]
    code = main([*argv, "--steps", "30", "--n-interior", "64", "--n-boundary", "16", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3
    assert err.strip().splitlines()[-1].startswith("pinnkan: training diverged (adam G=3: loss")
    m = metrics(out)
    # the last good state is the one whose loss was seen: the initial model here, not the blown-up one
    assert m["status"] == "diverged" and m["rel_l2"] < 10
    assert torch.load(out / "model.pt", weights_only=True)["spec"]["kind"] == "kan"


def test_divergence_retry_resumes_with_smaller_steps(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["solve", "poisson_sinsin", "--width", "2,3,1", "--grids", "3", "--optimizer", "adam", "--lr", "1e30"]
    argv += ["--steps", "30", "--n-interior", "64", "--n-boundary", "16", "--on-divergence", "retry"]
    code = main([*argv, "--set", "run.divergence_retries=2", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 3 and "retry 1/2" in err and "retry 2/2" in err and "x0.01" in err
    assert metrics(out)["divergence_retries"] == 2


def test_same_seed_same_history(tmp_path):
    import pinnkan

    def once():
        s = pinnkan.solve("heat", "kan", width=[2, 3, 1], grids=[3, 4], adam_steps=5, steps=10, n_interior=200,
                          n_boundary=20, log_every=3, progress=False)  # fmt: skip
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in s.history]

    assert once() == once()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_broken_checkpoints_are_refused_in_one_line(tmp_path, capsys, damage):
    out = tmp_path / "run"
    staging = RunDir.staging(out)
    staging.mkdir()
    good = tmp_path / "good.pt"
    torch.save({"format": "pinnkan-checkpoint-1", "position": {}}, good)
    if damage == "truncate":
        (staging / "checkpoint.pt").write_bytes(good.read_bytes()[:50])
    elif damage == "garbage":
        (staging / "checkpoint.pt").write_bytes(b"not a checkpoint at all")
    else:
        out.mkdir()  # a folder that is not a run
        staging.rmdir()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["solve", "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ("corrupt or truncated" in err or "not a resumable run" in err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_resume_refuses_finished_runs_and_other_settings(tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--width", "2,3,1", "--grids", "3", "--steps", "2", "--adam-steps", "1", "--n-interior", "64"]
    assert main(["solve", "poisson_sinsin", *tiny, "--n-boundary", "16", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["solve", "--resume", str(out)]) == 2
    assert "is a finished run (status ok)" in capsys.readouterr().err
    assert main(["solve", "--resume", str(out), "--steps", "5"]) == 2
    assert "give no problem or other settings" in capsys.readouterr().err
    assert main(["solve", "--resume", str(tmp_path / "nowhere")]) == 2
    assert "neither a run folder nor an unfinished run" in capsys.readouterr().err


def test_a_full_disk_mid_run_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    import pinnkan.training.checkpoint as checkpoint

    fail_checkpoint_write(monkeypatch, 3)
    out = tmp_path / "run"
    tiny = ["--width", "2,3,1", "--grids", "3,4", "--steps", "6", "--adam-steps", "2", "--n-interior", "64"]
    code = main(["solve", "poisson_sinsin", *tiny, "--n-boundary", "16", "--checkpoint-every", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.strip().splitlines()[-1].endswith("No space left on device")
    assert "cannot write checkpoint" in err and "Traceback" not in err
    kept = checkpoint.load_checkpoint(RunDir.staging(out) / "checkpoint.pt")
    assert kept["position"]["step"] == 1 and not out.exists()
    monkeypatch.undo()
    assert main(["solve", "--resume", str(out)]) == 0 and metrics(out)["steps"] == 14
