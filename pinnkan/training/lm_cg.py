"""Matrix-free Levenberg–Marquardt: the Gauss–Newton system solved by conjugate gradients.

The dense phase (pinnkan.training.lm) forms J (M, P) and J^T J (P, P), which
bounds it to a few thousand parameters. This one never forms either: each step
linearises r at theta (pinnkan.training.matrixfree) and solves

    (J^T J + mu I) delta = -J^T r,      mu = lambda * tr(J^T J) / P,

by conjugate gradients with products J^T (J v) (a forward- and a reverse-mode
derivative each), at most ``train.lm_cg_iters`` = 50 iterations or to a
relative residual of ``train.lm_cg_tol`` = 1e-4. The trace is estimated from
two Rademacher probes (E ||J z||^2 = tr J^T J), so lambda is unit-free as in the
dense phase; the damping is isotropic (Levenberg's form: the diagonal of J^T J is
not available without J). Acceptance and the damping's adaptation by the gain
ratio are the dense phase's. A truncated solve is still a descent direction, and
more damping makes the next solve better conditioned, so rejected steps converge
quickly. Cost per step: a linearisation plus (2 + 2 x iterations) Jacobian
products, each about a batched forward and backward.
"""

from __future__ import annotations

import torch

from pinnkan.errors import UserError
from pinnkan.keys import Key, positive
from pinnkan.training.lm import LevenbergMarquardt, probe
from pinnkan.training.matrixfree import ResidualOperator, conjugate_gradient
from pinnkan.training.phase import Phase

PROBES = 2


class MatrixFreeLM(LevenbergMarquardt):
    """Levenberg–Marquardt steps by conjugate gradients on Jacobian products (see the module docstring)."""

    name = "lm_cg"
    config_keys = {
        "lm_cg_iters": Key("int", 50, check=positive, help="conjugate-gradient iterations per step at most (lm_cg)"),
        "lm_cg_tol": Key("float", 1e-4, check=positive, help="relative residual that ends the CG solve (lm_cg)"),
    }

    @classmethod
    def check(cls, model, settings, problem=None) -> None:
        if not model.has_forward_jet:
            raise ValueError(f"optimizer lm_cg needs forward jets; the {model.kind!r} surrogate has none")
        if problem is not None:
            cls._check_differentiable(model, problem)

    @staticmethod
    def _check_differentiable(model, problem) -> None:
        """Both products on a few points, so a residual forward mode cannot go through fails before training."""

        def products(loss) -> None:
            op = ResidualOperator(loss)
            theta = op.theta()
            op.rmatvec(op.linearize(theta))
            op.matvec(torch.ones_like(theta))

        probe(
            model,
            problem,
            products,
            "optimizer lm_cg: the residual has no forward-mode derivative",
            "use lm or adam+lbfgs",
        )

    def __init__(self, loss, settings) -> None:
        Phase.__init__(self, loss, settings)
        try:
            self.check(loss.model, settings)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.damping = float(settings.get("lm_damping", 1e-3))
        self.nu = 2.0
        self.iters = int(settings.get("lm_cg_iters", 50))
        self.tol = float(settings.get("lm_cg_tol", 1e-4))
        self.cg_iterations: list[int] = []  # per solve, for diagnostics

    def step(self) -> dict[str, float]:
        op = ResidualOperator(self.loss)
        theta = op.theta()
        r = op.linearize(theta)
        g = op.rmatvec(r)
        gen = torch.Generator(device="cpu").manual_seed(len(self.cg_iterations))
        probes = [torch.randint(0, 2, theta.shape, generator=gen).to(theta) * 2 - 1 for _ in range(PROBES)]
        trace = sum(op.sq_norm(op.matvec(z)) for z in probes) / PROBES
        per_param = max(trace / theta.numel(), 1e-300)

        def gauss_newton(v: torch.Tensor) -> torch.Tensor:
            return op.rmatvec(op.matvec(v))

        def solve(damping: float) -> torch.Tensor:
            mu = damping * per_param
            delta, used = conjugate_gradient(lambda v: gauss_newton(v) + mu * v, -g, self.iters, self.tol)
            self.cg_iterations.append(used)
            return delta

        return self.damped_step(op.sq_norm(r), g, solve, lambda delta: op.sq_norm(op.matvec(delta)))
