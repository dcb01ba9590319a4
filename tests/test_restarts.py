"""Restarts: the default rule, the choice among starts, and a scouted run that reproduces from its config."""

from __future__ import annotations

import pytest

import pinnkan
from pinnkan.errors import UserError
from pinnkan.restarts import AUTO_MAX_PARAMS, AUTO_RESTARTS, SIMPLEST_WITHIN, _choose, default_restarts

TINY = {
    "width": [2, 1, 1],
    "grids": [3],
    "steps": 3,
    "adam_steps": 5,
    "n_interior": 200,
    "n_boundary": 40,
    "progress": False,
    "optimizer": "adam+lm",
}


def test_default_rule():
    assert default_restarts(AUTO_MAX_PARAMS) == AUTO_RESTARTS
    assert default_restarts(AUTO_MAX_PARAMS + 1) == 1


def test_choice_is_the_sparsest_of_the_near_best():
    losses = [1.0, 1e-3, 2e-3, 1e-3 * SIMPLEST_WITHIN * 1.01]
    assert _choose(losses, [5.0, 3.0, 2.0, 0.1]) == 2  # start 3 is too far from the best loss
    assert _choose(losses, [None] * 4) == 1  # no edges to compare: the lowest loss


def test_scouted_run_reproduces_from_its_configuration():
    problem = pinnkan.load_problem("poisson_sinsin")
    scouted = pinnkan.solve(problem, "kan", restarts=3, **TINY)
    info = scouted.restarts
    assert info["init_seeds"] == [0, 1, 2] and len(info["losses"]) == 3 and info["chosen"] in (0, 1, 2)
    assert scouted.config["train"]["restarts"] == 1 and scouted.config["run"]["init_seed"] == info["chosen"]
    again = pinnkan.solve(problem, "kan", config={"run": {"init_seed": info["chosen"]}}, restarts=1, **TINY)
    assert again.restarts is None
    assert again.final_loss == scouted.final_loss


def test_small_models_scout_by_default_and_instances_are_trained_as_given():
    problem = pinnkan.load_problem("poisson_sinsin")
    from pinnkan.solve import configure

    assert configure(problem, "kan", None, {"width": [2, 1, 1], "grid": 3})["train"]["restarts"] == AUTO_RESTARTS
    assert configure(problem, "kan", None, {"width": [2, 10, 1]})["train"]["restarts"] == 1
    model = pinnkan.make_surrogate("kan", problem, width=[2, 1, 1], grid=3)
    assert configure(problem, model, None, {})["train"]["restarts"] == 1
    with pytest.raises(UserError, match="needs the model by name"):
        pinnkan.solve(problem, model, restarts=2, **{k: v for k, v in TINY.items() if k != "width"})
