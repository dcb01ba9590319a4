"""The PINN residual vector r(theta) (M,) as one function, and products with its Jacobian without forming it.

``r`` is the same vector as :func:`pinnkan.training.jacobian.residual_jacobian`'s
(every term's entries, scaled so that ||r||^2 is the loss), evaluated on each
term's whole point set at once. ``J v`` is a forward-mode derivative
(``torch.func.jvp``) and ``J^T u`` a reverse-mode one (``torch.func.vjp``, whose
graph is built once per linearisation and reused for every product), both on the
surrogate's reference PyTorch ops. Memory is that of one batched forward and
backward, not M x P: what lets Gauss–Newton train models too large for the dense
system.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.func import jvp, vjp

from pinnkan.training.jacobian import _terms, reference_ops, row_scale
from pinnkan.training.loss import PINNLoss


class ResidualOperator:
    """r(theta) of ``loss`` over the flat trainable parameters theta (P,), in ``model.parameters()`` order."""

    def __init__(self, loss: PINNLoss) -> None:
        self.loss, self.model = loss, loss.model
        named = list(self.model.named_parameters())
        self.names = [n for n, q in named if q.requires_grad]
        self.shapes = [q.shape for n, q in named if q.requires_grad]
        self.fixed = {n: q.detach() for n, q in named if not q.requires_grad}
        self.terms = []
        for key, grouped, flat, fn, weight, entries in _terms(loss):
            self.terms.append((key, grouped[0].shape[0], flat, fn, weight, entries))
        self.scales: dict[str, Tensor] = {}
        self._vjp = None

    def theta(self) -> Tensor:
        """The current trainable parameters, flat (P,)."""
        return torch.cat([q.detach().reshape(-1) for q in self.model.parameters() if q.requires_grad])

    def _params(self, theta: Tensor) -> dict[str, Tensor]:
        out, i = dict(self.fixed), 0
        for name, shape in zip(self.names, self.shapes):
            n = shape.numel()
            out[name] = theta[i : i + n].view(shape)
            i += n
        return out

    def residual(self, theta: Tensor) -> Tensor:
        """r (M,) at theta (P,)."""
        params, parts = self._params(theta), []
        for key, groups, flat, fn, weight, entries in self.terms:
            v = fn(params, *flat)
            scale = self.scales.get(key)
            if scale is None or scale.shape[0] != v.shape[0]:
                scale = self.scales[key] = row_scale(self.loss, key, weight, entries, groups, v.shape[0] // groups)
            parts.append(v * scale)
        return torch.cat(parts)

    def linearize(self, theta: Tensor) -> Tensor:
        """r (M,) at theta; keeps the reverse-mode graph there for :meth:`rmatvec`."""
        with reference_ops(self.model):
            r, self._vjp = vjp(self.residual, theta)
        self.at = theta
        return r.detach()

    def matvec(self, v: Tensor) -> Tensor:
        """J v (M,) at the linearisation point, v (P,)."""
        with reference_ops(self.model):
            return jvp(self.residual, (self.at,), (v,))[1].detach()

    def rmatvec(self, u: Tensor) -> Tensor:
        """J^T u (P,) at the linearisation point, u (M,): summed over the processes (each holds its rows)."""
        with reference_ops(self.model):
            out = self._vjp(u)[0].detach()
        return self.loss.comm.sum_(out) if self.loss.comm.active else out

    def sq_norm(self, u: Tensor) -> float:
        """||u||^2 of a residual-space vector (M,), over every process's rows."""
        return self.loss.comm.sum_float(u @ u)


def conjugate_gradient(apply, b: Tensor, iters: int, tol: float) -> tuple[Tensor, int]:
    """x (P,) with apply(x) ~ b for a symmetric positive definite ``apply``, from x = 0: at most ``iters``
    iterations or until ||b - apply(x)|| <= tol ||b||; returns x and the iterations taken. Stopped early, x is
    still a descent direction of the quadratic (every iterate decreases it)."""
    x = torch.zeros_like(b)
    res = b.clone()
    d = res.clone()
    rr = float(res @ res)
    stop = tol**2 * rr
    for i in range(iters):
        if rr <= stop:
            return x, i
        ad = apply(d)
        curv = float(d @ ad)
        if curv <= 0:  # lost positive definiteness in floating point: keep what we have
            return x, i
        step = rr / curv
        x = x + step * d
        res = res - step * ad
        rr_new = float(res @ res)
        d = res + (rr_new / rr) * d
        rr = rr_new
    return x, iters
