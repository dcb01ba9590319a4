"""The KAN paper's network diagram: nodes in rows, every edge's learned function drawn on it.

Between two layers of nodes sits a row of small panels, one per edge (input-major),
each showing phi(x) over the range of inputs the edge actually sees; the lines from
the input node to the panel and on to the output node are drawn with opacity by the
edge's importance (relative to the strongest edge of its layer). Pruned edges are
left out.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from pinnkan.interpret.edges import LayerEdges, layer_edges, require_kan  # noqa: E402
from pinnkan.output import atomic_write  # noqa: E402
from pinnkan.surrogates import Surrogate  # noqa: E402


def _x(j: int, n: int) -> float:
    return (j + 0.5) / n


def draw_network(
    model: Surrogate, x: torch.Tensor, path: str | Path, names: tuple[list[str], list[str]] | None = None
) -> list[LayerEdges]:
    """Draw the KAN at the sample points x (N, D) to ``path`` (PNG/PDF/SVG); returns the edges it drew from.

    ``names``: labels of the input and output nodes (e.g. the problem's coords and fields).
    """
    kan = require_kan(model, "pinnkan inspect")
    edges = layer_edges(kan, x.to(dtype=next(kan.parameters()).dtype))
    widest = max(e.values.shape[1] * e.values.shape[2] for e in edges)
    n_layers = len(edges)
    fig = plt.figure(figsize=(max(6.0, 0.55 * widest), 2.6 * n_layers + 0.6))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    top = 2 * n_layers
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, top + 0.5)
    ax.axis("off")
    panel_w = min(0.8 / widest, 0.12)
    panel_h = 0.6 / (top + 1)
    drawn = 0
    widths = kan.widths
    for layer, e in enumerate(edges):
        n_in, n_out = e.values.shape[1], e.values.shape[2]
        imp = e.importance  # (out, in)
        strongest = float(imp.max()) or 1.0
        y_in, y_mid, y_out = 2 * layer, 2 * layer + 1, 2 * layer + 2
        for i in range(n_in):
            for o in range(n_out):
                if float(e.mask[o, i]) == 0:
                    continue
                p = i * n_out + o
                xm = _x(p, n_in * n_out)
                # rounding can put the strongest edge a hair above 1, which matplotlib refuses
                alpha = min(1.0, 0.08 + 0.92 * float(imp[o, i]) / strongest)
                ax.plot([_x(i, n_in), xm], [y_in, y_mid - 0.3], color="k", lw=0.8, alpha=alpha)
                ax.plot([xm, _x(o, n_out)], [y_mid + 0.3, y_out], color="k", lw=0.8, alpha=alpha)
                h = e.inputs[:, i].detach().cpu().numpy()
                v = e.values[:, i, o].detach().cpu().numpy()
                order = np.argsort(h)
                inset = fig.add_axes((xm - panel_w / 2, (y_mid + 0.5) / (top + 1) - panel_h / 2, panel_w, panel_h))
                inset.plot(h[order], v[order], color="tab:purple", lw=1.2, alpha=max(alpha, 0.3))
                inset.set_xticks([])
                inset.set_yticks([])
                for spine in inset.spines.values():
                    spine.set_alpha(alpha)
                drawn += 1
    for layer, width in enumerate(widths):
        xs = [_x(j, width) for j in range(width)]
        ax.scatter(xs, [2 * layer] * width, s=60, color="k", zorder=3)
        labels = None
        if names is not None and layer == 0:
            labels = names[0]
        elif names is not None and layer == len(widths) - 1:
            labels = names[1]
        if labels:
            dy = -0.3 if layer == 0 else 0.3
            for xj, label in zip(xs, labels):
                ax.text(xj, 2 * layer + dy, label, ha="center", va="center", fontsize=11)
    ax.text(0.01, top + 0.3, f"KAN {widths}, G={kan.grid}: {drawn} edges", fontsize=10, va="center")
    atomic_write(path, lambda p: fig.savefig(p, dpi=110, format=Path(path).suffix.lstrip(".") or "png"))
    plt.close(fig)
    return edges
