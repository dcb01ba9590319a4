"""The training schedule: stages (one per KAN grid) of optimizer phases, from the [train] section."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    """One grid of the extension ladder (``grid`` None for surrogates without one) and its phases."""

    grid: int | None
    phases: tuple[tuple[str, int], ...]  # (phase name, steps)


def plan(train: dict[str, Any]) -> list[Stage]:
    """Stages of a resolved ``[train]`` section.

    ``optimizer`` is one phase name or ``warmup+main``: the warm-up phase runs
    ``adam_steps`` steps in the first stage only, the main phase ``steps`` in every stage.
    """
    names = train["optimizer"].split("+")
    stages = []
    grids = train["grids"] or [None]
    if train.get("adaptive"):  # budgeted training: rounds, the first on the first grid, growth decided as it goes
        grids = [grids[0]] + [None] * (int(train.get("rounds", 8)) - 1)
    for i, grid in enumerate(grids):
        phases: list[tuple[str, int]] = []
        if len(names) == 2 and i == 0 and train["adam_steps"] > 0:
            phases.append((names[0], train["adam_steps"]))
        phases.append((names[-1], train["steps"]))
        stages.append(Stage(grid, tuple(phases)))
    return stages
