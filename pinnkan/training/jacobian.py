"""The PINN loss as a sum of squares, and the Jacobian of its residual vector in the parameters.

``loss = alpha * mean(pde^2) + sum_c w_c * mean(cond_c^2) = ||r||^2`` with

    r = [sqrt(alpha / n_pde) * pde,  sqrt(w_c / n_c) * cond_c, ...]     (M,)

(n = the number of residual entries of each term). Gauss–Newton-type phases need
J = dr/dtheta (M, P). Every residual entry depends on one collocation point (or on
one pair, for a periodic condition), so J is a stack of per-point parameter
gradients: ``torch.func.vmap`` over points of ``jacrev`` of the one-point residual,
run on the surrogate's reference PyTorch ops (its fused nodes are switched off
meanwhile: they have no batching rule) with the forward jet engine.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch
from torch import Tensor
from torch.func import jacrev, vmap

from pinnkan.training.loss import PINNLoss
from pinnkan.unknowns import estimates


@contextlib.contextmanager
def reference_ops(model) -> Iterator[None]:
    """Every submodule with a ``fused`` switch runs its PyTorch reference ops inside the block."""
    switched = [m for m in model.modules() if getattr(m, "fused", None) is True]
    for m in switched:
        m.fused = False
    try:
        yield
    finally:
        for m in switched:
            m.fused = True


def _groups(cond, x: Tensor) -> Tensor:
    """Points of one condition as (m, g, D): the g points each residual entry couples (g = 1 mostly)."""
    return x.reshape(cond.coupled_points, -1, x.shape[1]).transpose(0, 1)


def _terms(loss: PINNLoss):
    """Per loss term: (per-group inputs, each (m, ...) with the grouped points (m, g, D) first; the one-group
    residual fn(params, *inputs) -> (k,); its weight; the entries its mean is over, or None for all of them)."""
    p, model = loss.problem, loss.model
    reparametrize = torch.nn.utils.stateless._reparametrize_module
    layout = p.jet_layout()

    def pde(params, xg):
        with reparametrize(model, params), estimates(p, model):
            jet = model.forward_jet(xg, layout).to_jet(p.coords, p.fields)
            return p.residual(xg, jet).reshape(-1)

    yield (loss.points.interior[:, None],), pde, loss.alpha, None
    for i, (cond, xc) in enumerate(zip(p.conditions, loss.points.conditions)):
        cond_layout = p.condition_layout(i)

        def fn(params, xg, cond=cond, cl=cond_layout):
            with reparametrize(model, params), estimates(p, model):
                jet = model.forward_jet(xg, cl).to_jet(p.coords, p.fields)
                return cond.residual(p, xg, jet).reshape(-1)

        yield (_groups(cond, xc),), fn, cond.weight, None
    data = loss.data
    if data is not None:

        def observed(params, xg, values, root_w):
            with reparametrize(model, params):
                return (root_w * (model(xg) - values)).reshape(-1)

        yield (data.x[:, None], data.values[:, None], data.weights.sqrt()[:, None]), observed, data.weight, data.count


def residual_jacobian(loss: PINNLoss, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    """r (M,) and J = dr/dtheta (M, P), P the trainable parameters in ``model.parameters()`` order.

    Points go through in chunks of ``chunk`` groups to bound the memory of the batched backward.
    """
    model = loss.model
    names = [n for n, q in model.named_parameters() if q.requires_grad]
    params = {n: q.detach() for n, q in model.named_parameters()}
    rows, vals = [], []
    with reference_ops(model):
        for inputs, fn, weight, entries in _terms(loss):

            def value_and_jac(ps, *x, fn=fn):
                return fn(ps, *x), jacrev(fn)(ps, *x)

            batched = vmap(value_and_jac, in_dims=(None,) + (0,) * len(inputs))
            groups = inputs[0].shape[0]
            for start in range(0, groups, chunk):
                v, jac = batched(params, *(a[start : start + chunk] for a in inputs))
                m = v.shape[0] * v.shape[1]
                # the term is weight * mean of its squared entries (groups x entries per group, or as given)
                scale = math.sqrt(weight / (entries if entries is not None else groups * v.shape[1]))
                vals.append(v.reshape(m) * scale)
                rows.append(torch.cat([jac[n].reshape(m, -1) for n in names], dim=1) * scale)
    return torch.cat(vals), torch.cat(rows)
