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
