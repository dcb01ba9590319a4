"""Jets: forward propagation vs nested autograd vs finite differences, fused vs reference layer."""

import pytest
import torch

from pinnkan.jet import Rows, autograd_jet, forward_jet, resolve_engine
from pinnkan.layout import Layout
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
    table = layer._padded_weight().detach().requires_grad_(True)
    wb = layer.base_weight.detach().clone().requires_grad_(True)
    t0, hs = layer.knots[:, 0], layer.knots[:, 1] - layer.knots[:, 0]
    for layout in (Layout.standard(2, 2), Layout.of(2, [(0, 0, 1), (1, 1, 1)])):
        rows = torch.randn(12, layout.size, 4)
        rows[:, 0] = torch.rand(12, 4) * 2.4 - 1.2
        rows.requires_grad_(True)
        assert torch.autograd.gradcheck(
            lambda *a, lay=layout: KANLayerJet.apply(*a, t0, hs, layer.grid, layer.k, lay), (rows, table, wb)
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
@pytest.mark.parametrize("grid", [5, 20])
def test_compiled_kernels_match_torch_reference(box2, k, dtype, grid):
    """The numba CPU kernels and the PyTorch ops of KANLayerJet: same outputs, parameter gradients and
    gradients of the coordinates, for the jet and for values alone (boundary points through the kernels
    with no partials); grid 5 with k <= 3 sums the coefficient gradients one-hot, the rest scatter them."""
    from pinnkan.surrogates import kan_cpu, kan_jet

    if not kan_cpu.AVAILABLE:
        pytest.skip("numba not installed")
    model = KAN([2, 6, 3, 1], *box2, grid=grid, k=k).to(dtype)
    x = (torch.rand(300, 2) * 2.6 - 1.3).to(dtype).requires_grad_()
    xb = (torch.rand(70, 2) * 2.6 - 1.3).to(dtype)
    results = []
    for backend in ("auto", "torch"):
        kan_jet.BACKEND = backend
        try:
            model.zero_grad()
            x.grad = None
            j = forward_jet(model, x, 2, C2, F1)
            ub = model(xb)
            (j.value.square().sum() + j.grad.pow(3).sum() + j.diag.square().sum() + ub.pow(3).sum()).backward()
        finally:
            kan_jet.BACKEND = "auto"
        results.append([j.value, j.grad, j.diag, ub, x.grad.clone()] + [p.grad.clone() for p in model.parameters()])
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
        with pytest.raises(ValueError, match="not u_xx"):
            j["u"].dd("x")
        with pytest.raises(ValueError, match="not u_xx"):
            j["u"].lap(["x"])


# --- any partials: mixed, third and fourth order --------------------------------------------------------
HIGHER = {
    "mixed2": [(0, 1)],
    "third": [(0, 0, 0), (1,)],
    "mixed3": [(0, 0, 1), (1, 1, 1)],
    "fourth": [(0, 0, 0, 0), (0, 0, 1, 1), (1, 1, 1, 1)],
    "lap+mixed": ["lap", (0, 1, 1)],
}


def _higher_models(box2):
    """Every registered surrogate with forward jets, plus quintic and Cox-de Boor KANs."""
    torch.manual_seed(4)
    models = {kind: build(kind, [2, 6, 4, 2], *box2) for kind in surrogate_kinds()}
    models["kan-k5"] = KAN([2, 5, 3, 2], *box2, grid=5, k=5)
    models["kan-recursive"] = KAN([2, 4, 2], *box2, grid=4, k=4, basis="recursive")
    return models


@pytest.mark.parametrize("layout", sorted(HIGHER))
@pytest.mark.parametrize("name", [*surrogate_kinds(), "kan-k5", "kan-recursive"])
def test_any_partials_forward_matches_autograd(box2, name, layout):
    """Rows and parameter gradients of a loss on every row: forward jets against nested autograd, float64."""
    model = _higher_models(box2)[name]
    lay = Layout.of(2, HIGHER[layout])
    x = torch.rand(128, 2) * 2.4 - 1.2
    grads = []
    for engine in (forward_jet, autograd_jet):
        model.zero_grad()
        j = engine(model, x, lay, C2, ("u", "v"))
        weights = torch.linspace(0.5, 2.0, lay.size)[None, :, None]
        (j.rows.square() * weights).sum().backward()
        grads.append((j.rows.detach(), [p.grad.clone() for p in model.parameters()]))
    (rf, gf), (ra, ga) = grads
    assert rel_err(rf, ra) < 1e-10
    for a, b in zip(gf, ga):
        assert rel_err(a, b) < 1e-9


@pytest.mark.parametrize("layout", sorted(HIGHER))
@pytest.mark.parametrize("name", [*surrogate_kinds(), "kan-k5"])
def test_every_row_is_the_finite_difference_of_its_parent(box2, name, layout):
    """Row alpha = d/dx_a of row alpha[:-1] (central differences of the forward jet itself, h = 1e-5)."""
    model = _higher_models(box2)[name]
    lay = Layout.of(2, HIGHER[layout])
    x = torch.rand(64, 2) * 1.6 - 0.8
    j = forward_jet(model, x, lay, C2, ("u", "v"))
    eps = 1e-5
    for key in lay.keys:
        if key == "lap":  # the Laplacian row is the sum of the diagonal, checked against autograd above
            continue
        parent, a = key[:-1], key[-1]
        e = torch.zeros(2)
        e[a] = eps
        up = forward_jet(model, x + e, lay, C2, ("u", "v"))
        dn = forward_jet(model, x - e, lay, C2, ("u", "v"))
        pick = (lambda jj: jj.value) if not parent else (lambda jj, p=parent: jj.partial(p))
        fd = (pick(up) - pick(dn)) / (2 * eps)
        scale = 1 + float(j.partial(key).detach().abs().max())
        assert float((fd - j.partial(key)).detach().abs().max()) < 1e-5 * scale, key


@pytest.mark.parametrize("layout", ["mixed3", "fourth"])
@pytest.mark.parametrize("name", [*surrogate_kinds(), "kan-k5"])
def test_any_partials_float32(box2, name, layout):
    """Both engines in float32 against nested autograd in float64 (relative to the largest entry)."""
    model = _higher_models(box2)[name]
    lay = Layout.of(2, HIGHER[layout])
    x = torch.rand(200, 2) * 2 - 1
    ref = autograd_jet(model, x, lay, C2, ("u", "v"))
    for engine in (forward_jet, autograd_jet):
        j = engine(model.float(), x.float(), lay, C2, ("u", "v"))
        model.double()
        assert rel_err(j.rows.double(), ref.rows) < 2e-4, engine.__name__


@pytest.mark.parametrize("layout", sorted(HIGHER))
@pytest.mark.parametrize("k", [2, 3, 5])
def test_fused_kan_layer_any_layout(box2, layout, k):
    """KANLayerJet's compiled kernels and PyTorch ops against the plain-autograd layer, rows and gradients."""
    from pinnkan.surrogates import kan_jet

    model = KAN([2, 5, 3, 1], *box2, grid=6, k=k)
    lay = Layout.of(2, HIGHER[layout])
    x = torch.rand(150, 2) * 2.6 - 1.3  # some points outside the grid
    out = []
    for mode in ("reference", "auto", "torch"):
        for layer in model.layers:
            layer.fused = mode != "reference"
        kan_jet.BACKEND = "torch" if mode == "torch" else "auto"
        try:
            model.zero_grad()
            j = forward_jet(model, x, lay, C2, F1)
            (j.rows.pow(2) * torch.linspace(1, 2, lay.size)[None, :, None]).sum().backward()
        finally:
            kan_jet.BACKEND = "auto"
        out.append([j.rows.detach()] + [p.grad.clone() for p in model.parameters()])
    for other in out[1:]:
        for a, b in zip(other, out[0]):
            assert rel_err(a, b) < 1e-10


def test_fused_kan_layer_refuses_double_backward(box2):
    layer = KAN([2, 3, 1], *box2, grid=5).layers[0]
    x = (torch.rand(5, 2) * 2 - 1).requires_grad_(True)
    rows = torch.cat([x.unsqueeze(1), torch.eye(2).expand(5, 2, 2)], dim=1)
    out = layer.rows(Rows(rows, Layout.standard(2, 1)))
    (g,) = torch.autograd.grad(out.rows.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_jet_answers_by_name(box2):
    model = MLP([2, 6, 1], *box2)
    x = torch.rand(9, 2)
    j = forward_jet(model, x, Layout.of(2, [(0, 1), (0, 0, 0)]), C2, F1)
    assert torch.equal(j.d("y", "x"), j.d("x", "y")) and torch.equal(j.d("x", "x"), j.dd("x"))
    assert j.d("x", "x", "x").shape == (9,) and torch.equal(j.d(), j.val)
    with pytest.raises(ValueError, match="not u_yy"):
        j.dd("y")
    with pytest.raises(ValueError, match="no coordinate 'z'"):
        j.d("z")
