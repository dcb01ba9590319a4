"""The symbolic library: derivatives against autograd, sympy forms against torch."""

from __future__ import annotations

import pytest
import sympy
import torch

from pinnkan.interpret.library import LIBRARY, function, lookup


def _points(name: str) -> torch.Tensor:
    z = torch.linspace(-2.0, 2.0, 41)
    if LIBRARY[name].positive_domain:
        z = torch.linspace(0.3, 3.0, 41)
    if LIBRARY[name].nonzero_domain or name == "abs":
        z = z[z.abs() > 0.2]
    return z


@pytest.mark.parametrize("name", list(LIBRARY))
def test_derivatives_match_autograd(name):
    fn = LIBRARY[name]
    z = _points(name).requires_grad_(True)
    f = fn.torch_fn(z) + 0 * z  # + 0 z: the constant edge is still a function of z for autograd
    (d1,) = torch.autograd.grad(f.sum(), z, create_graph=True)
    d2 = torch.autograd.grad(d1.sum(), z, allow_unused=True)[0] if d1.requires_grad else None
    d2 = torch.zeros_like(z) if d2 is None else d2
    value, first, second = fn.jet(z.detach(), 2)
    torch.testing.assert_close(value, f.detach())
    torch.testing.assert_close(first, d1.detach())
    torch.testing.assert_close(second, d2.detach())


@pytest.mark.parametrize("name", list(LIBRARY))
def test_sympy_form_matches_torch(name):
    fn = LIBRARY[name]
    x = sympy.Symbol("x", real=True)
    z = _points(name)
    f = sympy.lambdify(x, fn.sympy_fn(x), "numpy")
    got = torch.as_tensor(f(z.numpy()), dtype=z.dtype).expand_as(z)
    torch.testing.assert_close(got, fn.torch_fn(z))


def test_lookup_refuses_unknown_and_empty():
    assert list(lookup(("sin", "x"))) == ["sin", "x"]
    with pytest.raises(ValueError, match="unknown symbolic function"):
        lookup(("sin", "sinh"))
    with pytest.raises(ValueError, match="empty"):
        lookup(())


def test_a_formula_in_x_is_a_function_with_sympy_derivatives():
    fn = function("sin(x**2)")
    z = torch.linspace(-1.5, 1.5, 31, requires_grad=True)
    (d1,) = torch.autograd.grad(fn.torch_fn(z).sum(), z, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), z)
    value, first, second = fn.jet(z.detach(), 2)
    torch.testing.assert_close(value, torch.sin(z.detach() ** 2))
    torch.testing.assert_close(first, d1.detach())
    torch.testing.assert_close(second, d2)
    x = sympy.Symbol("x", real=True)
    assert fn.sympy_fn(2 * x) == sympy.sin(4 * x**2)
    assert fn.scale and fn.shift
    with pytest.raises(ValueError, match="formula in x"):
        function("sin(y)")
    with pytest.raises(ValueError, match="unknown symbolic function"):
        function("sinh")
