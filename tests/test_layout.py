"""Layouts of partials: closure, order, the Faà di Bruno tables; univariate derivatives of any order."""

import itertools
import math

import pytest
import torch

from pinnkan.layout import LAP, Layout, key_name, parse_key
from pinnkan.univariate import compose, sigmoid_derivatives, silu_derivatives_from, tanh_derivatives


def test_closure_holds_every_sub_partial_in_graded_order():
    lay = Layout.of(2, [(0, 0, 1)])
    assert lay.keys == ((0,), (1,), (0, 0), (0, 1), (0, 0, 1))
    assert lay.order == 3 and lay.size == 6
    assert Layout.of(3, [LAP]).keys == ((0,), (1,), (2,), LAP)
    assert Layout.of(2, [(1, 0)]) == Layout.of(2, [(0, 1)])  # partials commute
    assert Layout.standard(2, 2).keys == ((0,), (1,), (0, 0), (1, 1))
    assert Layout.standard(2, 2, laplacian=True).standard_form() == (2, True)
    assert Layout.of(2, [(0, 1)]).standard_form() is None
    assert (Layout.standard(2, 1) | Layout.of(2, [(0, 0, 0)])).keys == ((0,), (1,), (0, 0), (0, 0, 0))
    with pytest.raises(ValueError):
        Layout.of(1, [(0,) * 5])


def test_keys_parse_and_print():
    c = ("x", "t")
    assert parse_key("xxx", c) == (0, 0, 0) and parse_key(("t", "x"), c) == (0, 1) and parse_key("lap", c) == LAP
    assert parse_key("x1,x2", ("x1", "x2")) == (0, 1) and parse_key("x2", ("x1", "x2")) == (1,)
    assert key_name((0, 0, 1), c) == "xxt" and key_name((0, 1), ("x1", "x2")) == "x1,x2"
    with pytest.raises(ValueError, match="no coordinate"):
        parse_key("xz", c)


def _bell(m: int) -> int:
    """The number of set partitions of m items."""
    row = [1]
    for _ in range(m):
        nxt = [row[-1]]
        for v in row:
            nxt.append(nxt[-1] + v)
        row = nxt
    return row[0]


@pytest.mark.parametrize("key", [(0,), (0, 0), (0, 1), (0, 0, 0), (0, 0, 1), (0, 1, 2), (0, 0, 0, 0), (0, 0, 1, 1)])
def test_terms_count_set_partitions_and_match_the_known_rules(key):
    lay = Layout.of(3, [key])
    row = lay.row(key)
    terms = [t for t in lay.terms() if t.row == row]
    assert sum(t.coef for t in terms) == _bell(len(key))  # every set partition once
    assert all(sum(len(lay.keys[f - 1]) if lay.keys[f - 1] != LAP else 2 for f in t.factors) == len(key) for t in terms)
    if key == (0, 0, 0):  # y''' = phi''' h'^3 + 3 phi'' h' h'' + phi' h'''
        x, xx, xxx = lay.row((0,)), lay.row((0, 0)), lay.row((0, 0, 0))
        assert {(t.j, t.coef, t.factors) for t in terms} == {(3, 1.0, (x, x, x)), (2, 3.0, (x, xx)), (1, 1.0, (xxx,))}


def _random_function_rows(lay: Layout, n: int = 7):
    """Rows of h(x) = sin(a.x) + (b.x)^3 at random points by nested autograd, and the points."""
    torch.manual_seed(1)
    a, b = torch.randn(lay.dim), torch.randn(lay.dim)
    x = torch.randn(n, lay.dim)
    from pinnkan.jet import autograd_jet

    fn = lambda z: (torch.sin(z @ a) + (z @ b) ** 3).unsqueeze(1)  # noqa: E731
    return x, fn, autograd_jet(fn, x, lay, tuple(f"x{i}" for i in range(lay.dim)), ("h",))


@pytest.mark.parametrize(
    "wanted", [[(0,), (1,)], [(0, 0), (1, 1)], [LAP], [(0, 1)], [(0, 0, 1), (1, 1, 1)], [(0, 0, 1, 1), (0, 0, 0, 0)]]
)
def test_pointwise_rows_equal_autograd_of_the_composition(wanted):
    """Rows.pointwise (the terms) of tanh(h) against nested autograd of tanh(h(x)), any layout."""
    from pinnkan.jet import Rows, autograd_jet

    lay = Layout.of(2, wanted)
    x, fn, jet_h = _random_function_rows(lay)
    t = torch.tanh(jet_h.rows[:, 0])
    rows = Rows(jet_h.rows, lay).pointwise(tanh_derivatives(t, lay.order))
    ref = autograd_jet(lambda z: torch.tanh(fn(z)), x, lay, ("x0", "x1"), ("y",))
    assert torch.allclose(rows.rows, ref.rows, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("order", [1, 3, 5, 8])
def test_univariate_derivatives_against_autograd(order):
    h = torch.linspace(-4, 4, 41, requires_grad=True)
    for fn, ours in (
        (torch.sigmoid, lambda v: sigmoid_derivatives(torch.sigmoid(v), order)),
        (torch.tanh, lambda v: tanh_derivatives(torch.tanh(v), order)),
        (torch.nn.functional.silu, lambda v: silu_derivatives_from(v, torch.sigmoid(v), order)),
    ):
        y, expect = fn(h), [fn(h)]
        for _ in range(order):
            (y,) = torch.autograd.grad(y.sum(), h, create_graph=True)
            expect.append(y)
        for a, b in zip(ours(h), expect):
            assert torch.allclose(a, b, atol=1e-12)


def test_compose_is_faa_di_bruno():
    """(g o t)^(j) for g = exp, t = sin against the closed forms, j <= 4."""
    h = torch.linspace(-2, 2, 9)
    s, c = torch.sin(h), torch.cos(h)
    inner = [s, c, -s, -c, s]
    e = torch.exp(s)
    out = compose([e] * 5, inner)
    expect = [
        e,
        e * c,
        e * (c**2 - s),
        e * (c**3 - 3 * s * c - c),
        e * (c**4 - 6 * s * c**2 - 4 * c**2 + 3 * s**2 + s),
    ]
    for a, b in zip(out, expect):
        assert torch.allclose(a, b, atol=1e-12)


def test_arrays_index_the_terms():
    lay = Layout.of(2, [(0, 1, 1)])
    arr = lay.arrays()
    pairs = lay.pairs()
    assert pairs[0] == (0, 0) and len(arr["pair"]) == len(lay.terms())
    for t, p, c, nf, fac in zip(lay.terms(), arr["pair"], arr["coef"], arr["nfac"], arr["fac"]):
        assert pairs[p] == (t.row, t.j) and c == t.coef and tuple(fac[:nf]) == t.factors
    assert math.isclose(sum(arr["coef"]), sum(_bell(len(k)) for k in lay.keys))
    assert len({(r, j) for r, j in zip(arr["pair_row"], arr["pair_j"])}) == len(pairs)
    assert list(itertools.islice(pairs, 1)) == [(0, 0)]


def test_standard_cover_is_the_smallest_standard_layout_holding_the_keys():
    heat = Layout.of(2, [(0,), (1,), (0, 0)])  # u_x, u_t, u_xx
    assert heat.standard_cover() == Layout.standard(2, 2, False)  # u_tt added
    assert Layout.of(2, ["lap"]).standard_cover() == Layout.standard(2, 2, True)
    assert Layout.of(3, [(2,)]).standard_cover() == Layout.standard(3, 1, False)
    assert Layout.standard(2, 2, False).standard_cover() == Layout.standard(2, 2, False)
    assert Layout.of(2, [(0, 1)]).standard_cover() is None  # a mixed partial: no standard layout holds it
    assert Layout.of(1, [(0, 0, 0)]).standard_cover() is None
