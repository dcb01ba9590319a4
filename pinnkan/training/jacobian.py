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
from torch.func import jacrev, vjp, vmap

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

    points = loss.local_points()  # this process's share (all of them for one process)
    x = points.interior
    given = _constraint_rows(model, x, layout)
    yield "pde", (x[:, None], *(g[:, None] for g in given)), (x, *given), pde, loss.alpha, None
    trained = loss.trained_names
    for i, (name, cond, xc) in enumerate(zip(p.condition_names, p.conditions, points.conditions)):
        if name not in trained or xc.shape[0] == 0:  # imposed by the surrogate, or none in this share
            continue
        cond_layout = p.condition_layout(i)

        def fn(params, xg, *given, cond=cond, cl=cond_layout):
            with reparametrize(model, params), estimates(p, model), given_rows(model, given):
                jet = model.forward_jet(xg, cl).to_jet(p.coords, p.fields)
                return cond.residual(p, xg, jet).reshape(-1)

        given = _constraint_rows(model, xc, cond_layout)
        grouped = (_groups(cond, xc), *(_groups(cond, g) for g in given))
        yield name, grouped, (xc, *given), fn, cond.weight, None
    data = loss.local_data()
    if data is not None and data.x.shape[0] > 0:

        def observed(params, xg, values, root_w):
            with reparametrize(model, params):
                return (root_w * (model(xg) - values)).reshape(-1)

        flat = (data.x, data.values, data.weights.sqrt())
        yield "data", tuple(a[:, None] for a in flat), flat, observed, data.weight, data.count


def row_scale(loss: PINNLoss, key: str, weight: float, entries: int | None, groups: int, k: int) -> Tensor:
    """The factor (groups k,) of each residual entry in r: sqrt(weight * term scale / entries), times sqrt(w_i)
    of its group's point weight where the term has point weights; k entries per group, group-major."""
    weight = weight * loss.term_scale.get(key, 1.0)
    scale = math.sqrt(weight / (entries if entries is not None else loss.global_groups(key, groups) * k))
    like = loss.points.interior
    out = torch.full((groups * k,), scale, dtype=like.dtype, device=like.device)
    point_w = loss.point_weights.get(key)
    if point_w is not None:
        out = out * point_w.sqrt().to(like.dtype)[:, None].expand(-1, k).reshape(-1)
    return out


def _split_terms(loss: PINNLoss) -> dict[str, tuple]:
    """Per PDE or condition term: (its layout, residual(x, jet) -> (m, k), points per entry g)."""
    p = loss.problem
    out = {"pde": (p.jet_layout(), lambda x, jet: p.residual(x, jet), 1)}
    for i, (name, cond) in enumerate(zip(p.condition_names, p.conditions)):
        out[name] = (p.condition_layout(i), lambda x, jet, c=cond: c.residual(p, x, jet), cond.coupled_points)
    return out


def _split_rows(loss: PINNLoss, key: str, flat: tuple[Tensor, ...], names: list[str], params, chunk: int):
    """(values (m k,), rows (m k, P)) of one term whose residual cannot run inside ``vmap`` (it takes autograd
    derivatives of its own, of a forcing made from an exact solution, say).

    The chain rule through the jet: r depends on the parameters through the surrogate's rows R (n, S, F) at
    its points (and, for an inverse problem, through the unknowns directly). The residual runs once on plain
    tensors with R as a leaf, giving dr/dR per entry by autograd; then each entry's row of J is the
    vector-Jacobian product of the per-point rows function with that cotangent, batched over points by
    ``vmap`` (the surrogate's code only). The unknowns' columns come from autograd by the double-backward
    trick. The same arithmetic as the batched path, in another order."""
    from pinnkan.jet import Jet

    p, model = loss.problem, loss.model
    layout, residual, g = _split_terms(loss)[key]
    x, given = flat[0], flat[1:]
    with torch.no_grad(), given_rows(model, given):
        rows = model.forward_jet(x, layout).rows
    leaf = rows.detach().requires_grad_(True)
    unknown_names = [n for n in names if n.startswith("unknowns.")]
    with torch.enable_grad(), estimates(p, model):
        r = residual(x, Jet(leaf, layout, p.coords, p.fields))
        m = x.shape[0] // g
        r = r.reshape(m, -1)
        k = r.shape[1]
        cots = []
        for e in range(k):
            (c,) = torch.autograd.grad(r[:, e].sum(), leaf, retain_graph=True, allow_unused=True)
            cots.append(torch.zeros_like(leaf) if c is None else c)
        direct = {}
        for n in unknown_names:  # dr / d(unknown), per entry
            q = dict(model.named_parameters())[n]
            w = torch.zeros(m * k, dtype=r.dtype, device=r.device, requires_grad=True)
            (gq,) = torch.autograd.grad((r.reshape(-1) * w).sum(), q, create_graph=True, allow_unused=True)
            if gq is None:
                continue
            (col,) = torch.autograd.grad(gq.sum(), w, retain_graph=True, allow_unused=True)
            if col is not None:
                direct[n] = col.detach()
    cot = torch.stack(cots, dim=1).detach()  # (n, k, S, F)
    reparametrize = torch.nn.utils.stateless._reparametrize_module

    def rows_of(ps, xg, *gg):
        with reparametrize(model, ps), given_rows(model, gg):
            return model.forward_jet(xg, layout).rows

    def entry_rows(xg, cg, *gg):  # one entry's g points (g, D) and cotangents (g, k, S, F) -> (k, P)
        _, pull = vjp(lambda ps: rows_of(ps, xg, *gg), params)
        out = []
        for e in range(k):
            grads = pull(cg[:, e])[0]
            out.append(torch.cat([grads[n].reshape(-1) for n in names]))
        return torch.stack(out)

    def grouped(t: Tensor) -> Tensor:
        return t.reshape(g, -1, *t.shape[1:]).transpose(0, 1)

    inputs = (grouped(x), grouped(cot), *(grouped(t) for t in given))
    batched = vmap(entry_rows)
    parts = [batched(*(a[s : s + chunk] for a in inputs)) for s in range(0, m, chunk)]
    jac = torch.cat(parts).reshape(m * k, -1)
    if direct:
        offsets, at = {}, 0
        for n in names:
            size = dict(model.named_parameters())[n].numel()
            offsets[n] = (at, size)
            at += size
        for n, col in direct.items():
            start, size = offsets[n]
            jac[:, start] = jac[:, start] + col
    return r.detach().reshape(m * k), jac


def residual_jacobian(loss: PINNLoss, chunk: int = 2048) -> tuple[Tensor, Tensor]:
    """r (M,) and J = dr/dtheta (M, P), P the trainable parameters in ``model.parameters()`` order.

    Points go through in chunks of ``chunk`` groups to bound the memory of the batched backward. A term whose
    residual cannot run inside ``vmap`` goes through :func:`_split_rows` instead (remembered on the loss as
    ``split_terms``).
    """
    model = loss.model
    names = [n for n, q in model.named_parameters() if q.requires_grad]
    params = {n: q.detach() for n, q in model.named_parameters()}
    split = loss.__dict__.setdefault("split_terms", set())
    rows, vals = [], []
    with reference_ops(model):
        for key, inputs, flat, fn, weight, entries in _terms(loss):
            groups = inputs[0].shape[0]
            if key not in split:
                try:
                    v, jac = _batched_rows(fn, params, inputs, names, chunk)
                except RuntimeError as exc:
                    if key == "data" or "functorch" not in str(exc) and "vmap" not in str(exc):
                        raise
                    split.add(key)
            if key in split:
                v, jac = _split_rows(loss, key, flat, names, params, chunk)
                v, jac = v.reshape(groups, -1), jac
            k = v.shape[1]
            scale = row_scale(loss, key, weight, entries, groups, k)  # the term is weight * mean of its squares
            vals.append(v.reshape(-1) * scale)
            rows.append(jac * scale[:, None])
    return torch.cat(vals), torch.cat(rows)


def _batched_rows(fn, params, inputs, names: list[str], chunk: int) -> tuple[Tensor, Tensor]:
    """(values (groups, k), rows (groups k, P)) of one term by vmap over its groups of jacrev of fn."""

    def value_and_jac(ps, *x):
        return fn(ps, *x), jacrev(fn)(ps, *x)

    batched = vmap(value_and_jac, in_dims=(None,) + (0,) * len(inputs))
    vals, rows = [], []
    for start in range(0, inputs[0].shape[0], chunk):
        v, jac = batched(params, *(a[start : start + chunk] for a in inputs))
        m = v.shape[0] * v.shape[1]
        vals.append(v)
        rows.append(torch.cat([jac[n].reshape(m, -1) for n in names], dim=1))
    return torch.cat(vals), torch.cat(rows)
