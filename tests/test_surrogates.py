"""KAN and MLP surrogates: shapes, parameter counts, grid update and extension, save/load."""

import json

import pytest
import torch

from pinnkan.keys import Key
from pinnkan.surrogates import KAN, MLP, SURROGATES, Surrogate, load_surrogate, save_surrogate

from .conftest import build, surrogate_kinds


def test_kan_parameter_count_matches_paper_sizes(box2):
    # [2,10,1]: 30 edges, each G + k spline coefficients + base weight + spline scale
    assert KAN([2, 10, 1], *box2, grid=5).n_params == 300
    assert KAN([2, 10, 1], *box2, grid=20).n_params == 750
    assert MLP([2, 100, 100, 100, 1], *box2).n_params == 20601


@pytest.mark.parametrize("basis", ["auto", "recursive"])
def test_kan_basis_paths_agree(box2, basis):
    torch.manual_seed(1)
    a = KAN([2, 6, 2], *box2, grid=7)
    b = KAN([2, 6, 2], *box2, grid=7, basis=basis)
    b.load_state_dict(a.state_dict())
    x = torch.rand(400, 2) * 3 - 1.5
    assert torch.allclose(a(x), b(x), atol=1e-12)


def test_grid_extension_is_exact_for_nested_grids(box2):
    # a cubic spline on G intervals is also one on 2G intervals: the refit must reproduce it
    model = KAN([2, 5, 1], *box2, grid=5)
    layer = model.layers[0]
    x = torch.rand(1000, 2) * 2 - 1
    before = layer(x)
    layer.extend_grid(10)
    assert layer.grid == 10 and layer.spline_weight.shape == (5, 2, 13)
    assert torch.allclose(layer(x), before, atol=1e-10)


def test_grid_extension_refit_error_small_non_nested(box2):
    model = KAN([2, 5, 1], *box2, grid=5)
    x = torch.rand(1000, 2) * 2 - 1
    before = model(x)
    model.extend_grid(13, x)
    assert (model(x) - before).abs().max() < 1e-2 * before.abs().max()


def test_grid_update_moves_knots_to_data_and_refits(box2):
    model = KAN([2, 5, 1], *box2, grid=8)
    layer = model.layers[0]
    x = torch.randn(4000, 2) * 0.3  # concentrated near 0
    before = layer(x)
    layer.update_grid(x, eps=0.02)
    assert not layer.uniform
    inner = layer.knots[:, 3:-3]
    assert inner.min() >= x.min() - 0.1 and inner.max() <= x.max() + 0.1
    assert (layer(x) - before).abs().max() < 1e-2 * before.abs().max()


def test_save_and_load_roundtrip(tmp_path, box2):
    model = KAN([2, 4, 1], *box2, grid=5)
    x = torch.rand(50, 2) * 2 - 1
    model.update_grid(x)
    save_surrogate(model, tmp_path / "m.pt")
    loaded = load_surrogate(tmp_path / "m.pt")
    assert torch.allclose(loaded(x), model(x))
    assert not loaded.layers[0].uniform
    mlp = MLP([2, 8, 1], *box2)
    save_surrogate(mlp, tmp_path / "n.pt")
    assert torch.allclose(load_surrogate(tmp_path / "n.pt")(x), mlp(x))


def test_input_map_uses_the_domain():
    lo, hi = torch.tensor([0.0, 0.0]), torch.tensor([2 * torch.pi, 1.0])
    model = KAN([2, 3, 1], lo, hi, grid=4)
    z = torch.tensor([[0.0, 0.0], [2 * torch.pi, 1.0]]) * model.in_scale + model.in_shift
    assert torch.allclose(z, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))


# --- a surrogate is one module and one registry entry: a toy one, registered in one place ------------
class Toy(Surrogate):
    """One activation between linear layers, chosen by its own [model] key; autograd derivatives only."""

    kind = "toy"
    default_hidden = (6,)
    default_lr = 1e-2
    config_keys = {"activation": Key("str", "tanh", ("tanh", "sin"), help="toy activation")}

    def __init__(self, widths, lo, hi, activation: str = "tanh") -> None:
        super().__init__(lo, hi)
        self.widths, self.activation = list(widths), activation
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def body(self, z):
        act = torch.tanh if self.activation == "tanh" else torch.sin
        for i, layer in enumerate(self.layers):
            z = layer(z)
            z = act(z) if i < len(self.layers) - 1 else z
        return z

    def spec(self):
        return {"kind": self.kind, "width": self.widths, "activation": self.activation}


@pytest.fixture
def toy(monkeypatch):
    monkeypatch.setitem(SURROGATES, "toy", Toy)
    return Toy


TOY_SWEEP = """
[sweep]
problem = "poisson_sinsin"
[base.data]
n_interior = 64
n_boundary = 16
[base.train]
adam_steps = 2
steps = 2
[toy]
widths = [[2, 4, 1], [2, 6, 1]]
[toy.model]
activation = "sin"
"""


def test_toy_surrogate_in_solve_bench_and_sweep(toy, tmp_path, capsys):
    import pinnkan
    from pinnkan.bench import run_bench
    from pinnkan.cli import main
    from pinnkan.sweeps import run_sweep

    # library: built from the registry with its own default width and learning rate
    s = pinnkan.solve("poisson_sinsin", "toy", steps=3, adam_steps=2, n_interior=64, n_boundary=16, progress=False)
    assert s.model.widths == [2, 6, 1] and s.config["train"]["lr"] == 1e-2 and s.engine == "autograd"
    assert s.config["train"]["grids"] == [] and s.status == "ok"
    # command line: --model and its own key, run folder, model.pt rebuilt through the registry
    out = tmp_path / "run"
    argv = ["solve", "poisson_sinsin", "--model", "toy", "--set", "model.activation=sin", "--steps", "2"]
    assert main([*argv, "--adam-steps", "1", "--n-interior", "64", "--n-boundary", "16", "--out", str(out)]) == 0
    loaded = load_surrogate(out / "model.pt")
    assert isinstance(loaded, Toy) and loaded.activation == "sin"
    # bench: only the engines that apply (no forward jet, no separate reference formulation)
    rows = run_bench(
        "poisson_sinsin",
        [("toy", None, None)],
        ("float64",),
        n_interior=64,
        n_boundary=16,
        repeat=2,
        warmup=1,
        progress=False,
    )
    assert [r["engine"] for r in rows] == ["autograd"] and rows[0]["width"] == [2, 6, 1]
    # a two-point sweep of the toy family
    cfg = tmp_path / "toy.toml"
    cfg.write_text(TOY_SWEEP)
    sweep = run_sweep(str(cfg), str(tmp_path / "sweep"), echo=False)
    results = (sweep / "results.csv").read_text().splitlines()
    assert len(results) == 3 and all(",ok," in line for line in results[1:])
    assert json.loads((sweep / "runs" / "toy-2x4x1-s0" / "config.json").read_text())["model"]["activation"] == "sin"


def test_register_surrogate_checks_the_class():
    from pinnkan.surrogates import register_surrogate

    with pytest.raises(ValueError, match="non-empty kind"):
        register_surrogate(type("NoKind", (Surrogate,), {}))


@pytest.mark.parametrize("kind", ["kan", "mlp"])
def test_a_reloaded_surrogate_computes_bit_identically(kind):
    """Resume relies on it: same weights must mean the same arithmetic (same basis path), not just the same
    function. A KAN built in float32 and cast must stay on its closed-form path once reloaded."""
    from pinnkan.jet import forward_jet
    from pinnkan.surrogates import surrogate_blob, surrogate_from_blob

    torch.set_default_dtype(torch.float32)
    lo, hi = torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 3.0])
    model = (KAN([2, 4, 1], lo, hi, grid=7) if kind == "kan" else MLP([2, 8, 1], lo, hi)).double()
    again = surrogate_from_blob(surrogate_blob(model))
    x = torch.rand(300, 2, dtype=torch.float64) * torch.tensor([2.0, 3.0]) - torch.tensor([1.0, 0.0])
    a, b = forward_jet(model, x, 2, ("x", "y"), ("u",)), forward_jet(again, x, 2, ("x", "y"), ("u",))
    assert torch.equal(a.value, b.value) and torch.equal(a.diag, b.diag)


@pytest.mark.parametrize("kind", list(SURROGATES))
def test_initial_weights_do_not_depend_on_the_default_dtype(kind, box2):
    """One seed, one start: under torch's float64 default (the tests', a notebook's) as under its float32 one
    (the command line's)."""
    from pinnkan.config import defaults
    from pinnkan.surrogates import build_surrogate

    def start(dtype):
        torch.set_default_dtype(dtype)
        torch.manual_seed(3)
        model = build_surrogate(kind, [2, 5, 1], *box2, defaults()["model"])
        return [p.detach().double() for p in model.parameters()]

    try:
        for a, b in zip(start(torch.float32), start(torch.float64), strict=True):
            assert torch.equal(a, b)
    finally:
        torch.set_default_dtype(torch.float64)


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_rows_through_the_standard_cover_equal_the_general_path(kind):
    """A surrogate whose fused kernels take standard layouts computes u_x, u_t, u_xx through u_x, u_t, u_xx,
    u_tt and keeps the rows asked for: the same numbers as its general path."""
    from pinnkan.layout import Layout

    lo, hi = torch.zeros(3), torch.ones(3)
    model = build(kind, [3, 6, 6, 2], lo, hi)
    x = torch.rand(40, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    layout = Layout.of(3, [(0,), (2,), (0, 0), (1, 1)])
    covered = model.forward_jet(x, layout).rows
    model.fused_standard = False
    general = model.forward_jet(x, layout).rows
    assert covered.shape == (40, 6, 2)
    assert float((covered - general).abs().max()) <= 1e-10 * float(general.abs().max())
