"""Configuration: every shipped TOML is valid, and resolution fills every key."""

from pathlib import Path

import pytest
import torch

from pinnkan.config import defaults, load_toml, merge_toml, resolve
from pinnkan.registry import builtin_problems, get_problem

CONFIGS = sorted((Path(__file__).parent.parent / "configs").glob("*.toml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    data = load_toml(path)
    if "sweep" in data:
        from pinnkan.sweeps import plan

        assert plan(data)
    else:
        cfg = defaults()
        merge_toml(cfg, data, str(path))
        resolved = resolve(cfg, get_problem(cfg["problem"]["name"])())
        assert all(v is not None for k, v in resolved["train"].items() if k != "max_time")


def test_resolution_uses_problem_defaults():
    cfg = resolve(defaults() | {"problem": {"name": "heat"}}, get_problem("heat")())
    assert cfg["model"]["width"] == [2, 8, 8, 1] and cfg["train"]["alpha"] == 0.1
    assert cfg["train"]["optimizer"] == "adam+lm" and cfg["train"]["steps"] == 30 and cfg["data"]["n_initial"] == 400
    mlp = defaults()
    mlp["model"]["kind"] = "mlp"
    cfg = resolve(mlp, get_problem("poisson")())
    assert cfg["model"]["width"] == [2, 100, 100, 100, 1] and cfg["train"]["grids"] == [] and cfg["train"]["lr"] == 1e-3


@pytest.mark.parametrize("name", sorted(builtin_problems()))
def test_builtin_problem_defaults_use_known_keys(name):
    from pinnkan.config import check_problem_defaults

    check_problem_defaults(get_problem(name)())


def test_a_defaults_typo_is_one_line_exit_2(tmp_path, capsys):
    from pinnkan.cli import main

    from .test_problems import GOOD

    f = tmp_path / "typo.py"
    f.write_text(
        GOOD.replace('    params = {"omega": 1.0}', '    params = {"omega": 1.0}\n    defaults = {"n_interor": 5}')
    )
    assert main(["solve", str(f), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown defaults key 'n_interor'; known: n_interior" in err
    assert not (tmp_path / "never").exists()


def test_problem_default_optimizer_applies_where_it_can_train_the_model(monkeypatch):
    from pinnkan.solve import configure, load_problem

    p = load_problem("poisson_sinsin")
    monkeypatch.setattr(p, "defaults", {**p.defaults, "optimizer": "adam+lm", "steps": 7})
    before = torch.random.get_rng_state()
    kan = configure(p, "kan", None, {})
    assert torch.equal(torch.random.get_rng_state(), before)  # the size check's throwaway model draws nothing
    assert kan["train"]["optimizer"] == "adam+lm" and kan["train"]["steps"] == 7
    mlp = configure(p, "mlp", None, {})  # 20601 parameters: more than lm's dense system takes
    assert mlp["train"]["optimizer"] == "adam+lbfgs" and mlp["train"]["steps"] == 300
    user = configure(p, "kan", None, {"optimizer": "adam+lbfgs"})  # the problem's steps are for its optimizer
    assert user["train"]["steps"] == 300
    assert configure(p, "kan", None, {"optimizer": "lm"})["train"]["steps"] == 50
