"""Surrogate registry: a new surrogate is one module here and one entry in SURROGATES.

Scripts can add their own with :func:`register_surrogate`; every command
(``solve``, ``bench``, ``suite``, ``sweep``) and the configuration's choices read
this one registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from pinnkan.surrogates.base import Surrogate
from pinnkan.surrogates.chebyshev import ChebyshevKAN
from pinnkan.surrogates.kan import KAN, KANLayer
from pinnkan.surrogates.mlp import MLP
from pinnkan.surrogates.rational import RationalKAN

SURROGATES: dict[str, type[Surrogate]] = {
    "kan": KAN,
    "mlp": MLP,
    "chebyshev": ChebyshevKAN,
    "rational": RationalKAN,
}


def register_surrogate(cls: type[Surrogate]) -> type[Surrogate]:
    """Add a surrogate class under its ``kind`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Surrogate)) or not cls.kind:
        raise ValueError("a surrogate is a pinnkan Surrogate subclass with a non-empty kind")
    SURROGATES[cls.kind] = cls
    return cls


def surrogate_class(kind: str) -> type[Surrogate]:
    """The registered surrogate class called ``kind``."""
    if kind not in SURROGATES:
        raise ValueError(f"unknown model {kind!r}; known: {', '.join(SURROGATES)}")
    return SURROGATES[kind]


def build_surrogate(kind: str, widths: Sequence[int], lo: Tensor, hi: Tensor, options: dict[str, Any]) -> Surrogate:
    """Build the surrogate ``kind`` mapping the box [lo, hi] (D,) to widths[-1] fields.

    Its initial parameters are drawn in float32 whatever torch's default dtype is (callers cast the model to
    the run's dtype after), so one seed gives one start in a library call and on the command line.
    """
    import torch

    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        return surrogate_class(kind).from_config(list(widths), lo, hi, options)
    finally:
        torch.set_default_dtype(default)


__all__ = [
    "ChebyshevKAN",
    "KAN",
    "KANLayer",
    "MLP",
    "RationalKAN",
    "SURROGATES",
    "Surrogate",
    "build_surrogate",
    "load_surrogate",
    "register_surrogate",
    "save_surrogate",
    "surrogate_blob",
    "surrogate_class",
    "surrogate_from_blob",
]


def surrogate_blob(model: Surrogate) -> dict[str, Any]:
    """Weights and everything needed to rebuild, as plain data (see :func:`surrogate_from_blob`)."""
    from pinnkan.surrogates.piecewise import PiecewiseInTime

    if isinstance(model, PiecewiseInTime):  # time windows (pinnkan.marching): each piece's own blob
        pieces = [surrogate_blob(p) for p in model.pieces]
        return {"format": "pinnkan-surrogate-1", "windows": model.edges, "axis": model.axis, "pieces": pieces}
    lo, hi = model.box()
    blob = {
        "format": "pinnkan-surrogate-1",
        "spec": model.spec(),
        "lo": lo.tolist(),
        "hi": hi.tolist(),
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
    }
    unknowns = getattr(model, "unknowns", None)
    if unknowns is not None:  # an inverse problem's learned parameters ride along (pinnkan.unknowns)
        blob["unknowns"] = unknowns.spec()
    enrichment = getattr(model, "enrichment", None)
    if enrichment is not None:  # known singular functions and their weights (pinnkan.enrichment)
        blob["enrichment"] = enrichment.spec()
    constraint = getattr(model, "constraint", None)
    if constraint is not None:  # hard Dirichlet data (pinnkan.constraint): rebuilt from the problem on loading
        blob["hard_bc"] = constraint.spec()
    scale = getattr(model, "output_scale", None)
    if scale is not None:  # fixed output factors (model.output_scale)
        blob["output_scale"] = scale.spec()
    return blob


def surrogate_from_blob(blob: dict[str, Any], problem: Any = None) -> Surrogate:
    """Rebuild a surrogate from :func:`surrogate_blob`'s data, in the dtype it was saved in.

    A surrogate trained with hard Dirichlet constraints (``model.hard_bc``) takes its boundary data from its
    problem: pass it (a ValueError without it).
    """
    import torch

    if "pieces" in blob:  # time windows: each piece with its window's problem (pinnkan.windows)
        from pinnkan.surrogates.piecewise import PiecewiseInTime
        from pinnkan.windows import window_problem

        edges = blob["windows"]
        pieces: list[Surrogate] = []
        for k, piece in enumerate(blob["pieces"]):  # in order: a window's start data is the last one's solution
            before = pieces[-1] if pieces else None
            own = None if problem is None else window_problem(problem, edges[k], edges[k + 1], before)
            pieces.append(surrogate_from_blob(piece, own))
        return PiecewiseInTime(pieces, edges, blob["axis"])
    if blob.get("hard_bc") and problem is None:
        raise ValueError("this surrogate imposes its problem's boundary data (model.hard_bc): load it with the problem")

    spec = dict(blob["spec"])
    dtype = next(iter(blob["state_dict"].values())).dtype
    lo = torch.tensor(blob["lo"], dtype=dtype)
    hi = torch.tensor(blob["hi"], dtype=dtype)
    kind = spec.pop("kind")
    model = build_surrogate(kind, spec.pop("width"), lo, hi, spec).to(dtype)
    if blob.get("unknowns"):
        from pinnkan.unknowns import from_spec

        model.unknowns = from_spec(blob["unknowns"]).to(dtype)
    if blob.get("enrichment"):
        from pinnkan.enrichment import from_spec as enrichment_from_spec

        model.enrichment = enrichment_from_spec(blob["enrichment"]).to(dtype)
    if blob.get("output_scale"):
        from pinnkan.surrogates.base import OutputScale

        model.output_scale = OutputScale(blob["output_scale"]).to(dtype)
    model.load_state_dict(blob["state_dict"])
    if blob.get("hard_bc"):
        from pinnkan.constraint import HardDirichlet

        model.constraint = HardDirichlet(problem)
    return model


def save_surrogate(model: Surrogate, path, extra: dict[str, Any] | None = None, write=None) -> None:
    """Save weights and everything needed to rebuild (loadable with weights_only=True)."""
    import torch

    blob = {**surrogate_blob(model), **(extra or {})}
    if write is None:
        torch.save(blob, path)
    else:
        write(path, lambda p: torch.save(blob, p))


def load_surrogate(path, problem: Any = None) -> Surrogate:
    """Rebuild a surrogate saved by :func:`save_surrogate` (``problem``: see :func:`surrogate_from_blob`)."""
    import torch

    return surrogate_from_blob(torch.load(path, weights_only=True, map_location="cpu"), problem)
