"""Data-parallel training measured: a 3-D Poisson problem on the unit cube at many interior points, on N
processes of this machine, each optimizer phase for a few steps: seconds per step (rank 0's history) and
peak memory of every process (its maximum resident set, from the operating system), with the volume each
phase all-reduces per step. Written to docs/results/distributed.md with the command, commit and machine.

    python scripts/distributed_bench.py                       # 10^6 points, N = 1, 2
    python scripts/distributed_bench.py --points 20000 --nproc 1,2 --out /tmp/d.md   # a quick look
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from docs_outputs import provenance, write  # noqa: E402

PROBLEM = '''
import math
import torch
from pinnkan import Box, Dirichlet, Problem

class Poisson3D(Problem):
    name = "poisson3d_scale"
    description = "-lap u = 3 pi^2 sin(pi x) sin(pi y) sin(pi z) on the unit cube, u = 0 on its faces"
    coords = ("x", "y", "z")
    domain = Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    conditions = (Dirichlet(value=0.0),)

    def residual(self, x, jet):
        s = torch.sin(math.pi * x)
        return -jet.lap() - 3 * math.pi**2 * s[:, 0] * s[:, 1] * s[:, 2]

    def exact(self, x):
        s = torch.sin(math.pi * x)
        return (s[:, 0] * s[:, 1] * s[:, 2])[:, None]
'''

CG_ITERS = 10  # conjugate-gradient iterations per lm_cg step here (50 by default): a step in minutes, not hours
# per phase: steps to time (after one untimed step); what it all-reduces per step, in float64 numbers, for P
# parameters and T loss terms: gradients and term values per loss evaluation (L-BFGS: up to 40 in its line
# search, about 2 typically), J^T J, J^T r and ||r||^2 (dense LM), a product J^T (J v) per CG iteration
PHASES = {
    "adam": (3, "P + T per loss evaluation (1 per step)", lambda p, t: p + t),
    "lbfgs": (2, "P + T per loss evaluation (about 2 per step; at most 40)", lambda p, t: 2 * (p + t)),
    "lm": (1, "P^2 + P + 1, then T per trial step", lambda p, t: p * p + p + 1 + t),
    "lm_cg": (1, f"P per CG iteration ({CG_ITERS} here) + 2 P + T", lambda p, t: (CG_ITERS + 2) * p + t),
}
WIDTH = "3,8,8,1"


def run(problem: Path, phase: str, steps: int, nproc: int, points: int, work: Path) -> dict:
    """One run on ``nproc`` processes started here (so that each one's peak memory can be read)."""
    out = work / f"{phase}-{nproc}"
    argv = [sys.executable, "-m", "pinnkan", "solve", str(problem), "--model", "chebyshev", "--width", WIDTH]
    argv += ["--optimizer", phase, "--adam-steps", "0", "--steps", str(steps + 1), "--log-every", "1"]
    argv += ["--n-interior", str(points), "--n-boundary", str(max(points // 50, 100)), "--out", str(out)]
    argv += ["--set", "train.restarts=1", "--set", "train.max_time=0", "--set", "model.hard_bc=false"]
    argv += ["--set", "train.tolerance=0", "--set", f"train.lm_cg_iters={CG_ITERS}", "--no-progress"]
    threads = str(max(1, (os.cpu_count() or 1) // nproc))
    procs = []
    for rank in range(nproc):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "NUMBA_NUM_THREADS": threads}
        if nproc > 1:
            env.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc), MASTER_ADDR="127.0.0.1")
            env["MASTER_PORT"] = "29533"
        procs.append(subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True))
    peaks = []
    for p in procs:
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read()
        if p.returncode != 0:
            raise SystemExit(f"{phase} on {nproc} processes failed: {err.strip().splitlines()[-1:]}")
        peaks.append(usage.ru_maxrss / 1024)  # KiB -> MiB
    rows = list(csv.DictReader((out / "history.csv").open()))
    first, last = rows[0], rows[-1]  # the first step (set-up, first-call compilation) is left out
    per_step = (float(last["wall_s"]) - float(first["wall_s"])) / (int(last["step"]) - int(first["step"]))
    terms = sum(1 for k in first if k.endswith("_loss")) + 1
    return {"per_step": per_step, "peaks": peaks, "params": int(first["params"]), "terms": terms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--nproc", default="1,2")
    ap.add_argument("--phases", default=",".join(PHASES))
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "distributed.md"))
    args = ap.parse_args()
    counts = [int(n) for n in args.nproc.split(",")]
    lines = [provenance("python scripts/distributed_bench.py " + " ".join(sys.argv[1:])), ""]
    lines += [f"3-D Poisson, {args.points:,} interior points, Chebyshev KAN [{WIDTH}], float64.", ""]
    lines += ["| phase | processes | s / step | speed-up | peak MiB per process | all-reduced per step |"]
    lines += ["|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        problem = work / "poisson3d.py"
        problem.write_text(PROBLEM)
        for phase in args.phases.split(","):
            steps, what, volume = PHASES[phase]
            base = None
            for n in counts:
                m = run(problem, phase, steps, n, args.points, work)
                base = base or m["per_step"]
                mb = volume(m["params"], m["terms"]) * 8 / 2**20
                peaks = ", ".join(f"{p:.0f}" for p in m["peaks"])
                lines.append(
                    f"| {phase} | {n} | {m['per_step']:.2f} | {base / m['per_step']:.2f}x | {peaks} | "
                    f"{what}: {mb:.3f} MiB at P = {m['params']} |"
                )
                print(lines[-1], flush=True)
                write(Path(args.out), "\n".join(lines) + "\n")  # row by row: a cut-short run keeps its rows
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
