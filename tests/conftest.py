"""Shared fixtures: float64 by default, fixed seeds, a tiny problem file."""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("PINNKAN_NO_PROGRESS", "1")


@pytest.fixture(autouse=True)
def _float64_and_seed():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(old)


@pytest.fixture
def box2():
    """The [-1, 1]^2 box as (lo, hi) tensors."""
    return torch.tensor([-1.0, -1.0]), torch.tensor([1.0, 1.0])


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / max |b|."""
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def surrogate_kinds(forward_only: bool = True) -> list[str]:
    """Every registered surrogate kind (those with forward jets, by default): tests loop over these."""
    from pinnkan.surrogates import SURROGATES

    return [k for k, cls in SURROGATES.items() if cls.forward_capable() or not forward_only]


def build(kind: str, widths, lo, hi):
    """A registered surrogate with its default [model] settings, float64."""
    from pinnkan.config import defaults
    from pinnkan.surrogates import build_surrogate

    return build_surrogate(kind, widths, torch.as_tensor(lo), torch.as_tensor(hi), defaults()["model"]).double()


def kan_with_edges(widths, edges, grid: int = 20, x=None):
    """A B-spline KAN whose edge i -> o of layer l is the function ``edges[(l, i, o)]`` (0 where absent).

    Each layer's splines are least-squares fits on a grid over the inputs it sees at the
    points x (N, D) in [-1, 1]^D (base weights 0), so the network is the given
    composition up to spline accuracy.
    """
    from pinnkan.bspline import basis
    from pinnkan.surrogates.kan import KAN

    d = widths[0]
    x = torch.rand(4000, d, generator=torch.Generator().manual_seed(0)) * 2 - 1 if x is None else x
    model = KAN(widths, -torch.ones(d), torch.ones(d), grid=grid).double()
    z = x.double()
    with torch.no_grad():
        for index, layer in enumerate(model.layers):
            if index > 0:
                layer.update_grid(z, eps=1.0, margin=0.05)
            layer.base_weight.zero_()
            layer.spline_scaler.fill_(1.0)
            b = basis(z, layer.knots, layer.k)[0]  # (N, in, M)
            for o in range(layer.n_out):
                for i in range(layer.n_in):
                    fn = edges.get((index, i, o))
                    if fn is None:
                        layer.spline_weight[o, i].zero_()
                        continue
                    sol = torch.linalg.lstsq(b[:, i, :], fn(z[:, i]).unsqueeze(1)).solution
                    layer.spline_weight[o, i] = sol[:, 0]
            z = layer(z)
    return model


def sin_square_kan():
    """[2,2,1] KAN of sin(pi x) sin(pi y) = h1^2 - h2^2, h1,2 = (sin(pi x) +- sin(pi y)) / 2."""
    import math

    s = lambda t: 0.5 * torch.sin(math.pi * t)  # noqa: E731
    return kan_with_edges(
        [2, 2, 1],
        {
            (0, 0, 0): s,
            (0, 1, 0): s,
            (0, 0, 1): s,
            (0, 1, 1): lambda t: -s(t),
            (1, 0, 0): torch.square,
            (1, 1, 0): lambda t: -torch.square(t),
        },
    )


def run_cli(argv, capsys):
    """``pinnkan ARGV`` in-process: (exit code, stdout, stderr)."""
    from pinnkan.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def fail_checkpoint_write(monkeypatch, nth: int = 3) -> None:
    """Make the nth checkpoint write fail as a full disk would (OSError 28); earlier ones succeed. Undo with
    ``monkeypatch.undo()``."""
    import pinnkan.training.checkpoint as checkpoint

    real, calls = checkpoint.atomic_write, []

    def write(path, fn):
        calls.append(path)
        if len(calls) == nth:
            raise OSError(28, "No space left on device")
        return real(path, fn)

    monkeypatch.setattr(checkpoint, "atomic_write", write)


def docs_outputs():
    """scripts/docs_outputs.py as a module (it is a script, not part of the package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "docs_outputs.py"
    spec = importlib.util.spec_from_file_location("docs_outputs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
