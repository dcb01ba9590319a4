"""Conditions as people write them: per-field values, point sets, one name for a tuple, time, periodic order."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pinnkan import Box, Dirichlet, Initial, Neumann, Periodic, PointSet, Problem, Robin, SpaceTime
from pinnkan.conditions import Derivative
from pinnkan.jet import autograd_jet


class Flow(Problem):
    """Three fields; conditions that set some of them."""

    name = "flow"
    description = "three fields for condition tests"
    coords = ("x", "y")
    fields = ("u", "v", "p")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (
        Dirichlet(faces="y+", value=lambda p, x: torch.stack([1 + 0 * x[:, 0], 2 + 0 * x[:, 0]], 1), fields=("u", "v")),
        Neumann(faces="x-", fields="p", value=0.5),
        Robin(faces="x+", fields=("v",), a=2.0, b=1.0, value=0.0),
        Derivative(coord="y", faces="y-", fields="u", value=3.0),
        PointSet(at=[(0.0, 0.0)], value=0.0, fields="p"),
    )

    def residual(self, x, jet):
        return torch.stack([jet["u"].d("x"), jet["v"].d("y"), jet["p"].val], 1)

    def exact(self, x):
        return torch.stack([x[:, 0], x[:, 1] ** 2, torch.sin(x[:, 0] + x[:, 1])], 1)


def jet_of_exact(problem, x):
    return autograd_jet(problem.exact, x, 1, problem.coords, problem.fields, create_graph=False)


def test_fields_select_columns_for_every_condition_kind():
    p = Flow()
    for i, cond in enumerate(p.conditions):
        x = torch.as_tensor(cond.points(p, 8, seed=i), dtype=torch.float64)
        r = cond.residual(p, x, jet_of_exact(p, x))
        width = len(cond.fields)
        assert r.shape == (len(x), width), (type(cond).__name__, r.shape)
    # the values: u = x, v = y^2, p = sin(x + y) on the exact solution
    x = torch.tensor([[0.3, 1.0]], dtype=torch.float64)
    r = p.conditions[0].residual(p, x, jet_of_exact(p, x))
    assert torch.allclose(r, torch.tensor([[0.3 - 1, 1.0 - 2]], dtype=torch.float64))
    x = torch.tensor([[1.0, 0.4]], dtype=torch.float64)  # Robin on v at x = 1: 2 v + dv/dn (dv/dx = 0)
    r = p.conditions[2].residual(p, x, jet_of_exact(p, x))
    assert torch.allclose(r, torch.tensor([[2 * 0.16]], dtype=torch.float64))
    x = torch.tensor([[0.2, 0.0]], dtype=torch.float64)  # du/dy = 0 against 3
    assert torch.allclose(p.conditions[3].residual(p, x, jet_of_exact(p, x)), torch.tensor([[-3.0]]).double())


def test_one_name_where_a_tuple_is_expected():
    assert Dirichlet(faces="all").faces == ("all",)
    assert Dirichlet(faces="space", fields="u").fields == ("u",)
    with pytest.raises(ValueError, match="name or a tuple of names"):
        Dirichlet(faces=3)


def test_unknown_field_is_one_line():
    p = Flow()
    with pytest.raises(ValueError, match="no field 'w'; the problem's fields are u, v, p"):
        Dirichlet(fields="w").columns(p)


def test_value_of_the_wrong_width_says_what_was_expected():
    p = Flow()
    cond = Dirichlet(faces="x-", value=lambda p, x: torch.zeros(len(x), 3), fields=("u", "v"))
    x = torch.as_tensor(cond.points(p, 4, 0))
    with pytest.raises(ValueError, match=r"expected \(4,\) or \(4, 2\)"):
        cond.residual(p, x, jet_of_exact(p, x))


def test_point_set_from_a_file_and_from_a_function(tmp_path):
    p = Flow()
    path = tmp_path / "sensors.csv"
    path.write_text("x,y,u\n0.5,0.5,7\n0.25,1.0000000000001,8\n")  # the second point 1e-13 outside: kept
    cond = PointSet(at=str(path), fields="u")
    pts = cond.points(p, 100, 0)
    assert pts.shape == (2, 2)
    x = torch.as_tensor(pts)
    r = cond.residual(p, x, jet_of_exact(p, x))
    assert torch.allclose(r[:, 0], x[:, 0] - torch.tensor([7.0, 8.0], dtype=torch.float64))
    # rows in another order (a batched Jacobian sees one point at a time) still find their own value
    r1 = cond.residual(p, x[1:], jet_of_exact(p, x[1:]))
    assert torch.allclose(r1[:, 0], x[1:, 0] - 8.0)
    by_fn = PointSet(at=np.array([[0.1, 0.2]]), value=lambda p, x: 10 * x[:, :1], fields="v")
    x = torch.as_tensor(by_fn.points(p, 1, 0))
    assert torch.allclose(by_fn.residual(p, x, jet_of_exact(p, x)), x[:, 1:] ** 2 - 10 * x[:, :1])


def test_point_set_outside_the_domain_is_refused(tmp_path):
    p = Flow()
    with pytest.raises(ValueError, match="outside the problem's domain"):
        PointSet(at=[(1.5, 0.5)], value=0.0).points(p, 1, 0)


class Heat(Problem):
    """No ``time =``: taken from the coordinate named t."""

    name = "heat_no_time"
    description = "heat without time declared"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Dirichlet(faces="space", value=0.0), Initial(value=lambda p, x: torch.sin(math.pi * x[:, :1])))

    def residual(self, x, jet):
        return jet.d("t") - jet.dd("x")


def test_time_from_a_coordinate_named_t_and_from_spacetime():
    assert Heat().time == "t"

    class OnSpaceTime(Heat):
        coords = ("x", "s")
        domain = SpaceTime(Box((0.0,), (1.0,)), (0.0, 2.0))

    p = OnSpaceTime()
    assert p.time == "s"
    pts = p.conditions[1].points(p, 5, 0)
    assert np.all(pts[:, 1] == 0.0)
    assert set(p.domain.select_parts(p.coords, ("x-", "x+"))) == {"x-", "x+"}


def test_initial_without_a_time_axis_names_the_line_to_add():
    class NoTime(Heat):
        coords = ("x", "tau")

    p = NoTime()
    assert p.time is None
    with pytest.raises(ValueError, match='add `time = "<name>"` to the problem class'):
        p.conditions[1].points(p, 4, 0)


class Periodic2(Problem):
    name = "periodic2"
    description = "a second-order PDE with a periodic condition"
    coords = ("x", "t")
    domain = Box((0.0, 0.0), (1.0, 1.0))
    conditions = (Periodic(coord="x"), Initial(value=0.0))

    def residual(self, x, jet):
        return jet.d("t") - jet.dd("x")


def test_periodic_matches_one_less_than_the_pde_order_by_default():
    p = Periodic2()
    assert p.conditions[0].matched_order(p) == 1
    x = torch.as_tensor(p.conditions[0].points(p, 6, 0))
    jet = autograd_jet(lambda z: torch.sin(2 * math.pi * z[:, :1]) + z[:, 1:], x, 1, p.coords, p.fields, False)
    r = p.conditions[0].residual(p, x, jet)
    assert r.shape == (6, 2) and float(r.abs().max()) < 1e-12  # u and u_x matched at 6 pairs
    assert Periodic(coord="x", order=0).matched_order(p) == 0
