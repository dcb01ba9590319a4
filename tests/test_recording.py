"""The partials a residual or condition reads are recorded from one evaluation, or declared."""

import pytest
import torch

from pinnkan.conditions import Dirichlet, Neumann, Operator, Periodic
from pinnkan.layout import LAP, Layout
from pinnkan.problem import Box, Problem
from pinnkan.recording import RecordingJet, declared_layout, record_layout
from pinnkan.registry import builtin_problems


def _layout(fn, coords=("x", "t"), fields=("u",)):
    return record_layout(fn, torch.zeros(4, len(coords)), coords, fields)


def test_records_what_the_residual_reads():
    assert _layout(lambda x, j: j.d("t") + j.val * j.d("x") + 0.0025 * j.d("x", "x", "x")) == Layout.of(
        2, [(1,), (0,), (0, 0, 0)]
    )
    assert _layout(lambda x, j: j.lap() + j.val).keys == ((0,), (1,), LAP)
    assert _layout(lambda x, j: j.dd("x") + j.d("t", "x")).keys == ((0,), (1,), (0, 0), (0, 1))
    assert _layout(lambda x, j: j.val).keys == ()
    multi = _layout(lambda x, j: j["v"].d("x") * j["u"].val, fields=("u", "v"))
    assert multi.keys == ((0,),)
    assert _layout(lambda x, j: j.grad.sum(1)).keys == ((0,), (1,))


def test_recorded_values_are_positive_and_shaped():
    jet = RecordingJet(5, ("x",), ("u",), torch.zeros(5, 1))
    assert jet.val.shape == (5,) and bool((jet.val > 0).all())
    assert jet.grad.shape == (5, 1, 1) and jet.value.shape == (5, 1)
    with pytest.raises(ValueError, match="no coordinate"):
        jet.d("y")


def test_declared_derivatives():
    assert declared_layout(("t", "xxx"), ("x", "t")) == Layout.of(2, [(1,), (0, 0, 0)])
    assert declared_layout((("x1", "x2"), "lap"), ("x1", "x2")).keys == ((0,), (1,), (0, 1), LAP)
    with pytest.raises(ValueError, match="derivatives: no coordinate"):
        declared_layout(("xz",), ("x", "t"))


class _Beam(Problem):
    name = "beam_test"
    description = "u'''' = 0"
    coords = ("x",)
    domain = Box((0.0,), (1.0,))
    conditions = (
        Dirichlet(value=0.0),
        Operator(operator=lambda p, x, jet: jet.d("x", "x")),
        Neumann(faces=("x-",)),
        Periodic(coord="x", order=2),
    )

    def residual(self, x, jet):
        return jet.d("x", "x", "x", "x")


def test_problem_and_condition_layouts():
    p = _Beam()
    assert p.jet_layout().keys == ((0,), (0, 0), (0, 0, 0), (0, 0, 0, 0))
    assert [lay.keys for lay in p.layouts()[1:]] == [(), ((0,), (0, 0)), ((0,),), ((0,), (0, 0))]
    p.derivatives = ("xxxx",)
    assert p.jet_layout().order == 4  # cached once found


@pytest.mark.parametrize("name", sorted(builtin_problems()))
def test_every_builtin_problem_records_its_partials(name):
    p = builtin_problems()[name]()
    layout = p.jet_layout()
    assert 1 <= layout.order <= 4
    for lay in p.layouts():
        assert lay.dim == p.dim
