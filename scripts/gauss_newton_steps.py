"""Dense against matrix-free Levenberg–Marquardt from the same start: loss and wall time per step.

    python scripts/gauss_newton_steps.py heat --model kan --steps 15 --n-interior 1000 --n-boundary 100

Both phases (``lm``, ``lm_cg``) start from the same initial model, points and damping and take
``--steps`` steps each; printed: the loss every few steps, the total time, the CG iterations per solve.
A phase that refuses the model (``lm`` past ``train.lm_max_params``) is reported and skipped.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch

import pinnkan
from pinnkan.training import PHASES, Collocation, PINNLoss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem")
    ap.add_argument("--model", default="kan")
    ap.add_argument("--width", default=None, help="e.g. 2,20,20,1 (default: the problem's)")
    ap.add_argument("--steps", type=int, default=15)
    ap.add_argument("--n-interior", type=int, default=1000)
    ap.add_argument("--n-boundary", type=int, default=100)
    ap.add_argument("--cg-iters", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(args.seed)
    problem = pinnkan.load_problem(args.problem)
    width = [int(w) for w in args.width.split(",")] if args.width else None
    start = pinnkan.make_surrogate(args.model, problem, width=width)
    sizes = {"n_interior": args.n_interior, "n_boundary": args.n_boundary, "n_initial": args.n_boundary}
    points = Collocation.sample(problem, {**sizes, "sampling": "sobol"}, args.seed, torch.float64, "cpu")
    n_params = sum(q.numel() for q in start.parameters() if q.requires_grad)
    n_points = points.interior.shape[0]
    print(f"{args.problem}, {args.model} {start.widths}, {n_params} parameters, {n_points} interior points")
    settings = {"lm_damping": 1e-3, "lm_max_params": 6000, "lm_cg_iters": args.cg_iters, "lm_cg_tol": 1e-4}
    for name in ("lm", "lm_cg"):
        model = copy.deepcopy(start)
        try:
            PHASES[name].check(model, settings)
        except ValueError as exc:
            print(f"{name:6s} skipped: {exc}")
            continue
        loss = PINNLoss(problem, model, "forward", points, float(problem.defaults.get("alpha", 0.01)))
        phase = PHASES[name](loss, settings)
        with torch.no_grad():
            values = [float(loss.terms()["loss"])]
        tic = time.perf_counter()
        for _ in range(args.steps):
            values.append(phase.step()["loss"])
        took = time.perf_counter() - tic
        every = max(1, args.steps // 5)
        trace = " ".join(f"{v:.2e}" for v in values[::every])
        extra = f", CG iterations {sum(phase.cg_iterations)} in all" if hasattr(phase, "cg_iterations") else ""
        print(f"{name:6s} {took:7.2f} s for {args.steps} steps; loss {trace} -> {values[-1]:.3e}{extra}")


if __name__ == "__main__":
    main()
