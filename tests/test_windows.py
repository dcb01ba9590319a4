"""Time windows (pinnkan.windows) and the piecewise surrogate over them (pinnkan.surrogates.piecewise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import pinnkan
from pinnkan.conditions import Dirichlet, Initial, PointSet
from pinnkan.jet import autograd_jet, compute_jet
from pinnkan.registry import builtin_problems
from pinnkan.surrogates import load_surrogate, save_surrogate
from pinnkan.surrogates.piecewise import PiecewiseInTime
from pinnkan.windows import (
    Continued,
    PreviousWindow,
    on_start_face,
    refuse,
    time_axis,
    window_edges,
    window_problem,
)
from tests.conftest import build, surrogate_kinds


def windowable() -> list[str]:
    """Every built-in problem time windows apply to (time-dependent, on a box or SpaceTime, nothing learned)."""
    out = []
    for name, cls in sorted(builtin_problems().items()):
        p = cls()
        try:
            refuse(p)
        except ValueError:
            continue
        out.append(name)
    return out


def surrogate_for(problem, kind: str = "chebyshev", seed: int = 0):
    torch.manual_seed(seed)
    lo, hi = problem.domain.bounds()
    return build(kind, [problem.dim, 6, len(problem.fields)], lo, hi)


def test_the_windowable_built_ins_include_each_kind_of_start_data():
    names = windowable()
    assert {"heat", "wave", "heat_hole", "advection"} <= set(names)
    assert "poisson" not in names and "heat_inverse" not in names


@pytest.mark.parametrize("name", windowable())
def test_a_window_narrows_the_time_interval_and_continues_the_start_data(name):
    p = pinnkan.load_problem(name)
    edges = window_edges(p, 3)
    axis = time_axis(p)
    lo, hi = p.domain.bounds()
    assert edges[0] == lo[axis] and edges[-1] == hi[axis] and np.allclose(np.diff(edges), (hi[axis] - lo[axis]) / 3)
    prev = surrogate_for(p)
    first = window_problem(p, edges[0], edges[1])
    assert first.conditions == p.conditions  # the first window keeps the real initial data
    later = window_problem(p, edges[1], edges[2], prev, n=64, seed=0)
    wlo, whi = later.domain.bounds()
    assert (wlo[axis], whi[axis]) == (edges[1], edges[2])
    x = later.interior(256, seed=1)
    assert (x[:, axis] >= edges[1] - 1e-12).all() and (x[:, axis] <= edges[2] + 1e-12).all()
    assert later.condition_names == p.condition_names  # logged under the same names
    for cond, own in zip(p.conditions, later.conditions):
        continued = isinstance(own, Continued) or isinstance(getattr(own, "value", None), PreviousWindow)
        assert continued == on_start_face(p, cond)
        assert isinstance(own, Continued) == (continued and type(cond) not in (Dirichlet, Initial))
        pts = own.points(later, 32, seed=2)
        if continued:
            assert np.allclose(pts[:, axis], edges[1])
        else:
            assert (pts[:, axis] >= edges[1] - 1e-12).all() and (pts[:, axis] <= edges[2] + 1e-12).all()
    assert p.domain.bounds()[0][axis] == lo[axis]  # the problem itself is untouched


@pytest.mark.parametrize("name", ["wave", "heat_hole"])
def test_the_start_data_of_a_later_window_is_the_previous_windows_solution(name):
    """Zero residual for the previous window's own solution; otherwise its value, or for an initial rate
    B u_new - B u_prev."""
    p = pinnkan.load_problem(name)
    edges = window_edges(p, 2)
    prev, new = surrogate_for(p, seed=0), surrogate_for(p, seed=1)
    later = window_problem(p, edges[1], edges[2], prev, n=48, seed=0)

    def residuals(i, cond):
        """The condition's points, its residual for the previous window's surrogate and for the new one."""
        x = torch.as_tensor(cond.points(later, 48, 0))
        layout = later.condition_layout(i)
        jets = (compute_jet("autograd", m, x, layout, p.coords, p.fields, False) for m in (prev, new))
        same, got = (cond.residual(later, x, jet) for jet in jets)
        assert float(same.detach().abs().max()) < 1e-12
        return x, layout, got

    start = [(i, c) for i, c in enumerate(later.conditions) if isinstance(getattr(c, "value", None), PreviousWindow)]
    assert len(start) == 1
    for i, cond in start:
        x, _, got = residuals(i, cond)
        assert torch.allclose(got, (new(x) - prev(x)).detach(), atol=1e-12)
    continued = [(i, c) for i, c in enumerate(later.conditions) if isinstance(c, Continued)]
    assert len(continued) == (name == "wave")  # the wave's initial rate
    for i, cond in continued:
        x, layout, got = residuals(i, cond)
        jet_new = autograd_jet(new, x, layout, p.coords, p.fields, create_graph=False)
        jet_prev = autograd_jet(prev, x, layout, p.coords, p.fields, create_graph=False)
        want = cond.original.residual(later, x, jet_new) - cond.original.residual(later, x, jet_prev)
        assert torch.allclose(got, want.reshape(got.shape), atol=1e-12)
        assert float(got.detach().abs().max()) > 1e-6


def test_problems_windows_cannot_take_are_refused_in_one_line():
    with pytest.raises(ValueError, match="no time coordinate"):
        refuse(pinnkan.load_problem("poisson"))
    with pytest.raises(ValueError, match="unknown parameters"):
        refuse(pinnkan.load_problem("heat_inverse"))
    heat = pinnkan.load_problem("heat")
    heat.conditions = (*heat.conditions, PointSet(at=[(0.5, 0.5)], value=0.0))
    with pytest.raises(ValueError, match="point-set"):
        refuse(heat)
    heat = pinnkan.load_problem("heat")
    heat.conditions = (Initial(faces=("t+",)),)
    with pytest.raises(ValueError, match="end face"):
        refuse(heat)


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_the_piecewise_surrogate_is_each_piece_in_its_window(kind):
    p = pinnkan.load_problem("heat")
    edges = window_edges(p, 3)
    pieces = [surrogate_for(p, kind, seed=k) for k in range(3)]
    model = PiecewiseInTime(pieces, edges, time_axis(p))
    x = torch.as_tensor(p.interior(300, seed=3))
    k = model.window_of(x)
    assert set(k.tolist()) == {0, 1, 2}
    y, jet = model(x), model.forward_jet(x, 2).rows
    for w, piece in enumerate(pieces):
        mine = k == w
        assert torch.equal(y[mine], piece(x[mine]))
        assert torch.allclose(jet[mine], piece.forward_jet(x[mine], 2).rows, atol=1e-12)
        t = x[mine][:, time_axis(p)]
        assert (t >= edges[w]).all() and (t < edges[w + 1]).all()
    auto = autograd_jet(model, x, 2, p.coords, p.fields, create_graph=False)
    assert torch.allclose(auto.grad, compute_jet("forward", model, x, 2, p.coords, p.fields, False).grad, atol=1e-10)
    assert model.n_params == sum(piece.n_params for piece in pieces)


def test_a_piecewise_surrogate_saves_and_loads_with_its_windows_constraints(tmp_path):
    from pinnkan.constraint import attach_constraint

    p = pinnkan.load_problem("heat")
    edges = window_edges(p, 2)
    pieces = [surrogate_for(p, seed=k) for k in range(2)]
    first, later = window_problem(p, *edges[:2]), window_problem(p, *edges[1:], pieces[0])
    attach_constraint(first, pieces[0])  # boundary and initial data
    attach_constraint(later, pieces[1])  # boundary data, and the first window's solution at its start
    model = PiecewiseInTime(pieces, edges, time_axis(p))
    x = torch.as_tensor(p.test_points())
    at_edge = x[:, 1] == edges[1]
    assert at_edge.any()
    with torch.no_grad():
        assert torch.allclose(pieces[1](x[at_edge]), pieces[0](x[at_edge]), atol=1e-12)  # imposed exactly
    save_surrogate(model, tmp_path / "model.pt")
    back = load_surrogate(tmp_path / "model.pt", p)
    assert torch.allclose(back(x), model(x), atol=1e-13)
    with pytest.raises(ValueError, match="previous window"):
        window_problem(p, *edges[1:])
    with pytest.raises(ValueError, match="increasing edges"):
        PiecewiseInTime(pieces, [0.0, 1.0], 1)
