"""Jets: forward propagation vs nested autograd vs finite differences, fused vs reference layer."""

import pytest
import torch

from pinnkan.jet import autograd_jet, forward_jet, resolve_engine
from pinnkan.surrogates import KAN, MLP
from pinnkan.surrogates.kan_jet import KANLayerJet

from .conftest import build, rel_err, surrogate_kinds

C2, F1 = ("x", "y"), ("u",)


def _models(box2):
    """Every registered surrogate with forward jets, two hidden layers, plus the KAN's reference basis."""
    torch.manual_seed(3)
    models = {kind: build(kind, [2, 7, 5, 2], *box2) for kind in surrogate_kinds()}
    models["kan"] = KAN([2, 7, 3, 2], *box2, grid=6)
    models["kan-recursive"] = KAN([2, 5, 1], *box2, grid=4, basis="recursive")
    return models


@pytest.mark.parametrize("name", [*surrogate_kinds(), "kan-recursive"])
def test_forward_matches_autograd_float64(box2, name):
    model = _models(box2)[name]
    x = torch.rand(256, 2) * 2.4 - 1.2  # include points outside the grid
    fields = tuple(f"u{i}" for i in range(model.widths[-1]))
    a = autograd_jet(model, x, 2, C2, fields)
    f = forward_jet(model, x, 2, C2, fields)
    for part in ("value", "grad", "diag"):
        assert rel_err(getattr(f, part), getattr(a, part)) < 1e-10, part


def test_forward_matches_autograd_after_grid_update_and_extension(box2):
    model = KAN([2, 6, 1], *box2, grid=5)
    x = torch.rand(2000, 2) * 2 - 1
    model.extend_grid(10, x)
    model.update_grid(x, eps=0.3)  # non-uniform: the general Cox-de Boor path
    assert not model.layers[0].uniform
    a = autograd_jet(model, x[:300], 2, C2, F1)
    f = forward_jet(model, x[:300], 2, C2, F1)
    for part in ("value", "grad", "diag"):
        assert rel_err(getattr(f, part), getattr(a, part)) < 1e-10, part


def test_forward_matches_autograd_float32(box2):
    torch.set_default_dtype(torch.float32)
    model = KAN([2, 10, 1], *box2, grid=20).float()
    x = (torch.rand(500, 2) * 2 - 1).float()
    ref = autograd_jet(model.double(), x.double(), 2, C2, F1)
    model.float()
    for engine in (forward_jet, autograd_jet):
        j = engine(model, x, 2, C2, F1)
        for part in ("value", "grad", "diag"):
            assert rel_err(getattr(j, part).double(), getattr(ref, part)) < 1e-5, (engine.__name__, part)


def test_autograd_jet_matches_finite_differences():
    def fn(x):
        return torch.stack([torch.sin(x[:, 0]) * torch.exp(x[:, 1] ** 2), x[:, 0] ** 3 * x[:, 1]], dim=1)

    x = torch.rand(40, 2)
    j = autograd_jet(fn, x, 2, C2, ("a", "b"))
    eps = 1e-4
    for a in range(2):
        e = torch.zeros(2)
        e[a] = eps
        fd1 = (fn(x + e) - fn(x - e)) / (2 * eps)
        fd2 = (fn(x + e) - 2 * fn(x) + fn(x - e)) / eps**2
        assert torch.allclose(j.grad[:, a], fd1, atol=1e-7)
        assert torch.allclose(j.diag[:, a], fd2, atol=1e-5)


def _central_differences(model, x, eps=1e-4):
    """First and second central differences of the first output along each coordinate: 2 x (D, N)."""
    d1, d2 = [], []
    for a in range(x.shape[1]):
        e = torch.zeros(x.shape[1])
        e[a] = eps
        up, mid, dn = model(x + e)[:, 0], model(x)[:, 0], model(x - e)[:, 0]
        d1.append((up - dn) / (2 * eps))
        d2.append((up - 2 * mid + dn) / eps**2)
    return torch.stack(d1), torch.stack(d2)


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_forward_jet_matches_finite_differences(box2, kind):
    # central differences, eps = 1e-4: truncation ~1e-8 times a third derivative, rounding ~1e-16 / eps^2
    tol1, tol2 = 1e-6, 1e-4
    model = build(kind, [2, 8, 1], *box2)
    x = torch.rand(64, 2) * 1.6 - 0.8
    j = forward_jet(model, x, 2, C2, F1)
    fd1, fd2 = _central_differences(model, x)
    for a in range(2):
        assert torch.allclose(j.d(C2[a]), fd1[a], atol=tol1)
        assert torch.allclose(j.dd(C2[a]), fd2[a], atol=tol2)
    lap = forward_jet(model, x, 2, C2, F1, laplacian=True).lap()
    assert torch.allclose(lap, fd2.sum(0), atol=2 * tol2)


@pytest.mark.parametrize("order", [1, 2])
def test_fused_layer_matches_unfused_parameter_gradients(box2, order):
    model = KAN([2, 6, 3, 1], *box2, grid=5)
    x = torch.rand(200, 2) * 2.2 - 1.1
    grads = []
    for fused in (True, False):
        for layer in model.layers:
            layer.fused = fused
        model.zero_grad()
        j = forward_jet(model, x, order, C2, F1)
        loss = j.value.square().sum() + j.grad.pow(3).sum() + (j.diag.square().sum() if order == 2 else 0)
        loss.backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for gf, gr in zip(*grads):
        assert rel_err(gf, gr) < 1e-10


def test_fused_layer_gradcheck(box2):
    layer = KAN([2, 4, 3, 1], *box2, grid=5).layers[1]
    h = (torch.rand(12, 4) * 2.4 - 1.2).requires_grad_(True)
    dh = torch.randn(12, 2, 4, requires_grad=True)
    d2h = torch.randn(12, 2, 4, requires_grad=True)
    table = layer._padded_weight().detach().requires_grad_(True)
    wb = layer.base_weight.detach().clone().requires_grad_(True)
    t0, hs = layer.knots[:, 0], layer.knots[:, 1] - layer.knots[:, 0]
    assert torch.autograd.gradcheck(
        lambda *a: KANLayerJet.apply(*a, t0, hs, layer.grid, layer.k), (h, dh, d2h, table, wb)
    )


def test_laplacian_and_field_selection(box2):
    model = MLP([2, 8, 2], *box2)
    x = torch.rand(10, 2)
    j = forward_jet(model, x, 2, C2, ("u", "v"))
    assert torch.allclose(j["v"].lap(), j.diag[:, 0, 1] + j.diag[:, 1, 1])
    with pytest.raises(ValueError):
        _ = j.val


def test_engine_resolution(box2):
    kan = KAN([2, 3, 1], *box2)
    assert resolve_engine("auto", kan) == "forward"
    assert resolve_engine("auto", MLP([2, 4, 1], *box2)) == "forward"
    no_jet = torch.nn.Linear(2, 1)  # any module without forward jets: autograd only
    no_jet.has_forward_jet, no_jet.kind = False, "linear"
    assert resolve_engine("auto", no_jet) == "autograd"
    with pytest.raises(ValueError, match="has no forward jet"):
        resolve_engine("forward", no_jet)
    with pytest.raises(ValueError):
        resolve_engine("magic", kan)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_kernels_match_torch_reference(box2, k, dtype):
    """The numba CPU kernels and the PyTorch ops of KANLayerJet: same outputs and parameter gradients."""
    from pinnkan.surrogates import kan_cpu, kan_jet

    if not kan_cpu.AVAILABLE:
        pytest.skip("numba not installed")
    model = KAN([2, 6, 3, 1], *box2, grid=5, k=k).to(dtype)
    x = (torch.rand(300, 2) * 2.6 - 1.3).to(dtype)
    results = []
    for backend in ("auto", "torch"):
        kan_jet.BACKEND = backend
        try:
            model.zero_grad()
            j = forward_jet(model, x, 2, C2, F1)
            (j.value.square().sum() + j.grad.pow(3).sum() + j.diag.square().sum()).backward()
        finally:
            kan_jet.BACKEND = "auto"
        results.append([j.value, j.grad, j.diag] + [p.grad.clone() for p in model.parameters()])
    tol = 1e-10 if dtype == torch.float64 else 1e-4
    for a, b in zip(*results):
        assert rel_err(a.double(), b.double()) < tol


def test_compiled_kernels_order_one(box2):
    from pinnkan.surrogates import kan_jet

    model = KAN([2, 5, 2], *box2, grid=7)
    x = torch.rand(100, 2) * 2 - 1
    out = []
    for backend in ("auto", "torch"):
        kan_jet.BACKEND = backend
        try:
            model.zero_grad()
            j = forward_jet(model, x, 1, C2, ("u", "v"))
            (j.value.sum() + j.grad.square().sum()).backward()
        finally:
            kan_jet.BACKEND = "auto"
        out.append([j.grad] + [p.grad.clone() for p in model.parameters()])
    for a, b in zip(*out):
        assert rel_err(a, b) < 1e-10


def _mlp_outputs(model, x, order, laplacian):
    """Jet rows and parameter gradients of a loss that weighs every row differently."""
    model.zero_grad()
    r = model.forward_jet(x, order, laplacian).rows
    weights = torch.linspace(0.5, 2.0, r[0].numel(), dtype=r.dtype).view(r.shape[1:])
    (r.pow(2) * weights).sum().backward()
    return [r.detach().clone()] + [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("order,laplacian", [(1, False), (2, False), (2, True)])
@pytest.mark.parametrize("widths", [[2, 16, 12, 1], [3, 8, 8, 8, 2], [1, 10, 1]])
def test_mlp_fused_jet_matches_reference(backend, order, laplacian, widths):
    """MLPJet (compiled kernels or its PyTorch ops) against Rows through plain autograd: rows and gradients."""
    from pinnkan.surrogates import mlp_jet

    d = widths[0]
    model = MLP(widths, -torch.rand(d) - 0.5, torch.rand(d) + 0.5)
    x = torch.rand(300, d) * 2 - 1
    mlp_jet.BACKEND = backend
    try:
        fused = _mlp_outputs(model, x, order, laplacian)
    finally:
        mlp_jet.BACKEND = "auto"
    model.fused = False
    ref = _mlp_outputs(model, x, order, laplacian)
    for a, b in zip(fused, ref):
        assert rel_err(a, b) < 1e-10


def test_mlp_fused_jet_float32_and_autograd(box2):
    model = MLP([2, 32, 32, 1], *box2)
    x = torch.rand(400, 2) * 2 - 1
    ref = autograd_jet(model, x, 2, C2, F1)
    lap = forward_jet(model, x, 2, C2, F1, laplacian=True)
    assert rel_err(lap.lap(), ref.lap()) < 1e-10
    j = forward_jet(model.float(), x.float(), 2, C2, F1)
    for part in ("value", "grad", "diag"):
        assert rel_err(getattr(j, part).double(), getattr(ref, part)) < 1e-5, part


@pytest.mark.parametrize("laplacian", [False, True])
def test_mlp_jet_gradcheck(box2, laplacian):
    from pinnkan.surrogates.mlp_jet import MLPJet, second_order_weights

    model = MLP([2, 5, 4, 2], *box2)
    x = torch.rand(7, 2) * 2 - 1
    params = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    c = second_order_weights(2, laplacian, x)
    assert torch.autograd.gradcheck(lambda *ps: MLPJet.apply(x, model.in_scale, c, *ps), params)


@pytest.mark.parametrize("name", surrogate_kinds())
def test_laplacian_only_jet(box2, name):
    model = _models(box2)[name]
    x = torch.rand(50, 2) * 2 - 1
    full = forward_jet(model, x, 2, C2, ("u", "v"))
    for engine in (forward_jet, autograd_jet):
        j = engine(model, x, 2, C2, ("u", "v"), laplacian=True)
        assert j.diag is None
        assert rel_err(j["v"].lap(), full["v"].lap()) < 1e-12
        assert rel_err(j.grad, full.grad) < 1e-12
        with pytest.raises(ValueError, match="Laplacian only"):
            j["u"].dd("x")
        with pytest.raises(ValueError, match="full Laplacian"):
            j["u"].lap(["x"])
