"""KAN and MLP surrogates: shapes, parameter counts, grid update and extension, save/load."""

import pytest
import torch

from pinnkan.surrogates import KAN, MLP, load_surrogate, save_surrogate


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
