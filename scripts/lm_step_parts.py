"""Where a dense Levenberg–Marquardt step spends its time, and J^T J plain against blocked.

    python scripts/lm_step_parts.py benchmarks/dev/heat_inclusion.py --degree 9 --n-interior 20000

On one model and one set of points (a Chebyshev KAN, no hard constraint):
the residual's Jacobian J (M, P), the normal matrix J^T J as the plain product and as
``pinnkan.training.lm.gram`` (blocks on and above the diagonal), and one Cholesky factorisation of the
damped system; the median of ``--repeats`` runs each, the ratio plain / blocked, and the largest difference
between the two normal matrices relative to their largest entry.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import pinnkan
from pinnkan.training import Collocation, PINNLoss
from pinnkan.training.jacobian import residual_jacobian
from pinnkan.training.lm import gram


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        tic = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - tic)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem")
    ap.add_argument("--degree", type=int, default=9)
    ap.add_argument("--hidden", default="16,16")
    ap.add_argument("--n-interior", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_default_dtype(torch.float64)
    problem = pinnkan.load_problem(args.problem)
    hidden = [int(h) for h in args.hidden.split(",")]
    width = [len(problem.coords), *hidden, len(problem.fields)]
    model = pinnkan.make_surrogate("chebyshev", problem, width=width, degree=args.degree)
    sizes = {"n_interior": args.n_interior, "n_boundary": 1000, "n_initial": 1000, "sampling": "sobol"}
    points = Collocation.sample(problem, sizes, 0, torch.float64, "cpu")
    loss = PINNLoss(problem, model, "forward", points, 1.0)
    t_jac, (_, jac) = timed(lambda: residual_jacobian(loss), args.repeats)
    t_plain, plain = timed(lambda: jac.T @ jac, args.repeats)
    t_blocked, blocked = timed(lambda: gram(jac), args.repeats)
    scale = torch.diag(blocked.diagonal().clamp_min(1e-300))
    t_chol, _ = timed(lambda: torch.linalg.cholesky_ex(blocked + 1e-3 * scale), args.repeats)
    diff = float((plain - blocked).abs().max() / plain.abs().max())
    m, p = jac.shape
    print(f"{problem.name}: J {m} x {p}, torch threads {torch.get_num_threads()}")
    print(f"  Jacobian        {t_jac:8.3f} s")
    print(f"  J^T J plain     {t_plain:8.3f} s")
    print(f"  J^T J blocked   {t_blocked:8.3f} s   plain / blocked {t_plain / t_blocked:.2f}x, max diff {diff:.1e}")
    print(f"  Cholesky        {t_chol:8.3f} s")


if __name__ == "__main__":
    main()
