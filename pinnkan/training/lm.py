"""Levenberg–Marquardt: Gauss–Newton steps on the PINN loss as a sum of squares, damped by trust.

With r (M,) and J (M, P) from :mod:`pinnkan.training.jacobian` (loss = ||r||^2),
each step solves

    (J^T J + lambda diag(J^T J)) delta = -J^T r

by Cholesky (Marquardt's scaling makes lambda unit-free), tries theta + delta, and
compares the actual decrease with the one the linear model predicts,
``pred = ||r||^2 - ||r + J delta||^2``. The gain ratio rho = actual / pred sets
the damping (Nielsen's rule): accepted steps shrink lambda by
max(1/3, 1 - (2 rho - 1)^3), rejected ones grow it by nu, doubling nu each time.
A factorisation that fails (an indefinite or singular system in floating point)
counts as a rejection. The same phase serves every surrogate with forward jets,
so KAN and MLP comparisons stay fair; the dense P x P system limits it to models
of at most ``train.lm_max_params`` parameters.
"""

from __future__ import annotations

import math

import torch

from pinnkan.errors import UserError
from pinnkan.keys import Key, positive
from pinnkan.training.jacobian import residual_jacobian
from pinnkan.training.phase import Phase

# J^T J is formed in column blocks of about this many parameters (only those on and above the diagonal)
GRAM_BLOCK = 512


def gram(jac: torch.Tensor, block: int = GRAM_BLOCK) -> torch.Tensor:
    """J^T J (P, P) of J (M, P), symmetric by construction.

    Only the blocks on and above the diagonal are multiplied (b = ceil(P / block) column blocks: (b + 1) / 2b
    of the full product's M P^2 multiply-adds, near half for large P) and each is mirrored below. The column
    blocks are views of J (no copy). At P <= ``block`` it is the plain product."""
    p = jac.shape[1]
    if p <= block:
        return jac.T @ jac
    edges = list(range(0, p, math.ceil(p / math.ceil(p / block)))) + [p]
    out = jac.new_empty((p, p))
    for i, (a0, a1) in enumerate(zip(edges, edges[1:])):
        left = jac[:, a0:a1].T
        for b0, b1 in zip(edges[i:], edges[i + 1 :]):
            part = left @ jac[:, b0:b1]
            out[a0:a1, b0:b1] = part
            if b0 != a0:
                out[b0:b1, a0:a1] = part.T
    return out


def probe(model, problem, attempt, failure: str, advice: str) -> None:
    """Run ``attempt(loss)`` on a loss over a few points, so a residual a phase cannot differentiate fails
    before training, in one line: ValueError("<failure> (<error>); <advice>")."""
    from pinnkan.training.loss import Collocation, PINNLoss

    param = next(model.parameters())
    few = {"n_interior": 4, "n_boundary": 4, "n_initial": 4, "sampling": "sobol"}
    points = Collocation.sample(problem, few, 0, param.dtype, param.device)
    try:
        attempt(PINNLoss(problem, model, "forward", points, 1.0))
    except Exception as exc:  # the user's residual: say what failed, in one line
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ValueError(f"{failure} ({type(exc).__name__}: {msg}); {advice}") from None


class LevenbergMarquardt(Phase):
    """One Gauss–Newton step per call, retried with more damping until the loss decreases (at most 10 tries)."""

    name = "lm"
    converges = True
    config_keys = {
        "lm_damping": Key("float", 1e-3, check=positive, help="initial Levenberg-Marquardt damping (lm)"),
        "lm_max_params": Key("int", 6000, check=positive, help="largest model for the dense lm system (lm)"),
    }
    max_tries = 10

    @classmethod
    def check(cls, model, settings, problem=None) -> None:
        if not model.has_forward_jet:
            raise ValueError(f"optimizer lm needs forward jets; the {model.kind!r} surrogate has none")
        n = sum(p.numel() for p in model.parameters() if p.requires_grad)
        limit = settings.get("lm_max_params", 6000)
        if n > limit:
            raise ValueError(
                f"optimizer lm: the model has {n} parameters, more than train.lm_max_params = {limit} "
                "(a dense system of that size); use a smaller model or adam+lbfgs"
            )
        if problem is not None:
            cls._check_batchable(model, problem)

    @staticmethod
    def _check_batchable(model, problem) -> None:
        """The per-point Jacobian on a few points, so a residual torch.func cannot batch fails before training."""
        probe(
            model,
            problem,
            residual_jacobian,
            "optimizer lm: the residual cannot be differentiated point by point",
            "use adam+lbfgs",
        )

    def __init__(self, loss, settings) -> None:
        super().__init__(loss, settings)
        try:
            self.check(loss.model, settings)  # again: grid extension may have grown the model
        except ValueError as exc:
            raise UserError(str(exc)) from None
        self.damping = float(settings.get("lm_damping", 1e-3))
        self.nu = 2.0

    def _flat(self) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    def _assign(self, flat: torch.Tensor) -> None:
        i = 0
        with torch.no_grad():
            for p in self.params:
                p.copy_(flat[i : i + p.numel()].view_as(p))
                i += p.numel()

    def _terms(self) -> dict[str, float]:
        with torch.no_grad():
            return {k: float(v) for k, v in self.loss.terms().items()}

    def step(self) -> dict[str, float]:
        r, jac = residual_jacobian(self.loss)
        a = gram(jac)
        g = jac.T @ r
        comm = self.loss.comm
        if comm.active:  # each process holds its rows of J: J^T J, J^T r and ||r||^2 are sums over them
            a, g = comm.sum_(a), comm.sum_(g)
        loss0 = comm.sum_float(r @ r)
        scale = a.diagonal().clamp_min(1e-12 * float(a.diagonal().max().clamp_min(1e-300)))

        def solve(damping: float) -> torch.Tensor | None:
            chol, info = torch.linalg.cholesky_ex(a + damping * torch.diag(scale))
            return -torch.cholesky_solve(g[:, None], chol)[:, 0] if int(info) == 0 else None

        return self.damped_step(loss0, g, solve, lambda delta: float(delta @ (a @ delta)))

    def damped_step(self, loss0: float, g: torch.Tensor, solve, curvature) -> dict[str, float]:
        """Try ``solve(damping)`` (the step delta, or None when the system could not be solved) with growing
        damping until the loss decreases; ``curvature(delta)`` is delta^T J^T J delta for the predicted
        decrease ``-(2 g.delta + curvature)``, g = J^T r. Adapts the damping by the gain ratio."""
        theta = self._flat()
        for _ in range(self.max_tries):
            delta = solve(self.damping)
            if delta is not None:
                pred = -float(2 * g @ delta + curvature(delta))
                self._assign(theta + delta)
                terms = self._terms()
                actual = loss0 - terms["loss"]
                if pred > 0 and math.isfinite(terms["loss"]) and actual > 0:
                    rho = actual / pred
                    self.damping *= max(1 / 3, 1 - (2 * rho - 1) ** 3)
                    self.nu = 2.0
                    self.last_terms = terms
                    return terms
            self.damping *= self.nu
            self.nu *= 2
        # no decrease at any damping tried: stay put; the stall rule ends the phase
        self._assign(theta)
        self.last_terms = self._terms()
        return self.last_terms

    def state_dict(self) -> dict:
        return {"damping": self.damping, "nu": self.nu}

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.damping, self.nu = float(state["damping"]), float(state["nu"])

    def scale_lr(self, factor: float) -> None:
        # smaller steps: more damping
        self.damping /= factor
