"""The PINN loss as a sum of squares, and the Jacobian of its residual vector in the parameters.

``loss = alpha * mean(pde^2) + sum_c w_c * mean(cond_c^2) = ||r||^2`` with

    r = [sqrt(alpha / n_pde) * pde,  sqrt(w_c / n_c) * cond_c, ...]     (M,)

(n = the number of residual entries of each term; with adaptive weights, see
:mod:`pinnkan.training.loss`, each entry also carries sqrt(w_i) of its point and
each term sqrt of its scale). Gauss–Newton-type phases need
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

from pinnkan.constraint import given_rows
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
    """Points (n, ...) of one condition as (m, g, ...): the g points each residual entry couples (g = 1 mostly)."""
    return x.reshape(cond.coupled_points, -1, *x.shape[1:]).transpose(0, 1)


def _constraint_rows(model, x: Tensor, layout) -> tuple[Tensor, ...]:
    """A hard-constrained surrogate's data rows (g (n, S, F), d (n, S, 1)) at x, computed here, outside the
    vmap over points (pinnkan.constraint.given_rows); () for any other surrogate."""
    constraint = getattr(model, "constraint", None)
    return () if constraint is None else constraint.data_rows(x, layout)


def _terms(loss: PINNLoss):
    """Per loss term: (its key; per-group inputs, each (m, ...) with the grouped points (m, g, D) first; the same
    inputs ungrouped (the term's own point set, in its order); the residual fn(params, *inputs) -> (m k,) of one
    group or of all of them; its weight; the entries its mean is over, or None for all)."""
    p, model = loss.problem, loss.model
    reparametrize = torch.nn.utils.stateless._reparametrize_module
    layout = p.jet_layout()

    def pde(params, xg, *given):
        with reparametrize(model, params), estimates(p, model), given_rows(model, given):
            jet = model.forward_jet(xg, layout).to_jet(p.coords, p.fields)
            return p.residual(xg, jet).reshape(-1)

    x = loss.points.interior
    given = _constraint_rows(model, x, layout)
    yield "pde", (x[:, None], *(g[:, None] for g in given)), (x, *given), pde, loss.alpha, None
    trained = loss.trained_names
    for i, (name, cond, xc) in enumerate(zip(p.condition_names, p.conditions, loss.points.conditions)):
        if name not in trained:  # imposed by the surrogate (a hard constraint): no residual to reduce
            continue
        cond_layout = p.condition_layout(i)

        def fn(params, xg, *given, cond=cond, cl=cond_layout):
            with reparametrize(model, params), estimates(p, model), given_rows(model, given):
                jet = model.forward_jet(xg, cl).to_jet(p.coords, p.fields)
                return cond.residual(p, xg, jet).reshape(-1)

        given = _constraint_rows(model, xc, cond_layout)
        grouped = (_groups(cond, xc), *(_groups(cond, g) for g in given))
        yield name, grouped, (xc, *given), fn, cond.weight, None
    data = loss.data
    if data is not None:

        def observed(params, xg, values, root_w):
            with reparametrize(model, params):
                return (root_w * (model(xg) - values)).reshape(-1)

        flat = (data.x, data.values, data.weights.sqrt())
        yield "data", tuple(a[:, None] for a in flat), flat, observed, data.weight, data.count


def row_scale(loss: PINNLoss, key: str, weight: float, entries: int | None, groups: int, k: int) -> Tensor:
    """The factor (groups k,) of each residual entry in r: sqrt(weight * term scale / entries), times sqrt(w_i)
    of its group's point weight where the term has point weights; k entries per group, group-major."""
    weight = weight * loss.term_scale.get(key, 1.0)
    scale = math.sqrt(weight / (entries if entries is not None else groups * k))
    like = loss.points.interior
    out = torch.full((groups * k,), scale, dtype=like.dtype, device=like.device)
    point_w = loss.point_weights.get(key)
    if point_w is not None:
        out = out * point_w.sqrt().to(like.dtype)[:, None].expand(-1, k).reshape(-1)
    return out


def residual_jacobian(loss: PINNLoss, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    """r (M,) and J = dr/dtheta (M, P), P the trainable parameters in ``model.parameters()`` order.

    Points go through in chunks of ``chunk`` groups to bound the memory of the batched backward.
    """
    model = loss.model
    names = [n for n, q in model.named_parameters() if q.requires_grad]
    params = {n: q.detach() for n, q in model.named_parameters()}
    rows, vals = [], []
    with reference_ops(model):
        for key, inputs, _, fn, weight, entries in _terms(loss):

            def value_and_jac(ps, *x, fn=fn):
                return fn(ps, *x), jacrev(fn)(ps, *x)

            batched = vmap(value_and_jac, in_dims=(None,) + (0,) * len(inputs))
            groups = inputs[0].shape[0]
            scale = None
            for start in range(0, groups, chunk):
                v, jac = batched(params, *(a[start : start + chunk] for a in inputs))
                m = v.shape[0] * v.shape[1]
                if scale is None:  # the term is weight * mean of its squared entries
                    scale = row_scale(loss, key, weight, entries, groups, v.shape[1])
                s = scale[start * v.shape[1] : start * v.shape[1] + m]
                vals.append(v.reshape(m) * s)
                rows.append(torch.cat([jac[n].reshape(m, -1) for n in names], dim=1) * s[:, None])
    return torch.cat(vals), torch.cat(rows)
