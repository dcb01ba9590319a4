"""Adaptive training: the weighted loss, each registered technique end to end and its own formula, refusals."""

import math
from types import SimpleNamespace

import pytest
import torch

import pinnkan
from pinnkan.cli import main
from pinnkan.config import defaults, schema
from pinnkan.training import TECHNIQUES, Callback, Collocation, PINNLoss
from pinnkan.training.attention import ResidualAttention
from pinnkan.training.balance import GradientBalance, term_tensors
from pinnkan.training.causal import causal_weights
from pinnkan.training.jacobian import residual_jacobian

from .conftest import rel_err

TINY = {"n_interior": 64, "n_boundary": 16, "n_initial": 16, "progress": False, "log_every": 1}


def _loss(problem_name: str = "heat") -> PINNLoss:
    p = pinnkan.load_problem(problem_name)
    model = pinnkan.make_surrogate("kan", p)
    with torch.no_grad():
        for q in model.parameters():
            q.add_(0.05 * torch.randn_like(q))
    points = Collocation.sample(p, {**TINY, "sampling": "sobol"}, 0, torch.float64, "cpu")
    return PINNLoss(p, model, "forward", points, 0.5)


def _grad(loss: PINNLoss) -> torch.Tensor:
    loss.model.zero_grad()
    loss.terms()["loss"].backward()
    return torch.cat([q.grad.reshape(-1) for q in loss.model.parameters()])


def test_point_weights_and_term_scales_weight_the_objective_not_the_reported_terms():
    loss = _loss()
    plain = {k: float(v.detach()) for k, v in loss.terms().items()}
    r = loss.last_residuals["pde"]
    w = torch.rand(r.shape[0], dtype=r.dtype) + 0.2
    loss.point_weights["pde"] = w
    cond = loss.names[0]
    loss.term_scale[cond] = 4.0
    weighted = {k: float(v.detach()) for k, v in loss.terms().items()}
    # the reported terms are the plain mean squares
    assert all(weighted[k] == pytest.approx(plain[k], rel=1e-13) for k in plain if k != "loss")
    want = plain["loss"] - loss.alpha * plain["pde_loss"] + loss.alpha * float((w * r.square()).mean())
    want += 3.0 * plain[f"{cond}_loss"]
    assert weighted["loss"] == pytest.approx(want, rel=1e-12)
    # the Gauss-Newton residual carries the same weights: ||r||^2 = loss, 2 J^T r = its gradient
    vec, jac = residual_jacobian(loss)
    assert float(vec @ vec) == pytest.approx(weighted["loss"], rel=1e-12)
    assert rel_err(2 * jac.T @ vec, _grad(loss)) < 1e-10
    loss.point_weights["pde"] = w[:-1]
    with pytest.raises(RuntimeError, match="point weights of 'pde'"):
        loss.terms()


class _Watch(Callback):
    """Records what the techniques put into the loss during the run, and after it."""

    def __init__(self):
        self.during, self.state = [], None

    def on_step_end(self, state):
        self.state = state
        self.during.append((dict(state.loss.point_weights), dict(state.loss.term_scale)))


@pytest.mark.parametrize("name", list(TECHNIQUES))
def test_every_technique_is_off_by_default_and_trains_when_switched_on(name):
    cls = TECHNIQUES[name]
    cfg = defaults()
    assert cls.from_config(cfg) is None  # off by default
    assert set(cls.config_keys) <= set(schema()["train"]) and set(cls.switch) <= set(cls.config_keys)
    cfg["train"].update(cls.switch)
    assert isinstance(cls.from_config(cfg), cls)
    watch = _Watch()
    # the penalised conditions (heat imposes them by default): every term of the loss is there to weight
    settings = {**TINY, **cls.switch, "balance_every": 2, "hard_bc": False}
    s = pinnkan.solve(
        "heat", "kan", callbacks=[watch], optimizer="adam+lm", steps=4, adam_steps=3, grids=[3], **settings
    )
    assert s.status == "ok" and math.isfinite(s.final_loss)
    on = [cb for cb in watch.state.callbacks if isinstance(cb, cls)]
    assert len(on) == 1  # built from the settings, once
    assert not watch.state.loss.point_weights and not watch.state.loss.term_scale  # nothing left at the end
    again = cls.from_config(cfg)
    again.load_state_dict(on[0].state_dict())  # its state goes into checkpoints and comes back
    if not cls.weights_loss:
        assert again.state_dict() == on[0].state_dict()
        return
    assert any(pw or ts for pw, ts in watch.during)  # it weighted the loss while training
    again.on_resume(watch.state)  # and its weights come back into the loss on resume
    assert watch.state.loss.point_weights or watch.state.loss.term_scale


def test_causal_weights_are_exp_of_minus_eps_times_earlier_slices():
    gen = torch.Generator().manual_seed(0)
    t = torch.rand(500, generator=gen, dtype=torch.float64) * 2.0
    sq = torch.rand(500, generator=gen, dtype=torch.float64)
    per_point, per_slice = causal_weights(t, sq, 0.0, 2.0, 8, eps=0.7)
    means = [float(sq[((t * 4).floor() == k)].mean()) for k in range(8)]
    want = [math.exp(-0.7 * sum(means[:i])) for i in range(8)]
    assert per_slice.tolist() == pytest.approx(want, rel=1e-12)
    assert per_slice[0] == 1.0 and all(b <= a for a, b in zip(per_slice, per_slice[1:]))
    slice_of = (t * 4).floor().long().clamp(0, 7)
    assert torch.equal(per_point, per_slice[slice_of])
    # resolved residuals: every slice counts fully
    assert torch.allclose(causal_weights(t, 0 * sq, 0.0, 2.0, 8, 0.7)[1], torch.ones(8, dtype=torch.float64))


def test_attention_weights_grow_where_the_residual_is_large_and_keep_mean_one():
    loss = _loss()
    state = SimpleNamespace(loss=loss, problem=loss.problem)
    rba = ResidualAttention(decay=0.9, rate=0.1)
    rba.on_train_start(state)
    n = loss.points.interior.shape[0]
    assert torch.equal(loss.point_weights["pde"], torch.ones(n, dtype=torch.float64))
    r = torch.full((n,), 0.1, dtype=torch.float64)
    r[3] = 1.0
    for _ in range(5):
        loss.last_residuals["pde"] = r
        rba.on_step_end(state)
    w = loss.point_weights["pde"]
    assert float(w.mean()) == pytest.approx(1.0, rel=1e-12)
    assert int(w.argmax()) == 3 and float(w[3]) > 2 * float(w[0])
    assert set(loss.point_weights) == set(loss.term_keys)  # every term's points


def test_gradnorm_gives_every_scaled_term_the_same_gradient_norm():
    loss = _loss()
    state = SimpleNamespace(loss=loss, model=loss.model, step=0)
    GradientBalance(every=1, momentum=0.0).update(state)
    params = list(loss.model.parameters())
    norms = []
    for key, term in term_tensors(loss).items():
        grads = torch.autograd.grad(loss.term_scale[key] * term, params, allow_unused=True)
        norms.append(math.sqrt(sum(float(g.square().sum()) for g in grads if g is not None)))
    assert max(norms) == pytest.approx(min(norms), rel=1e-10)


def test_a_technique_that_cannot_apply_is_refused_in_one_line(tmp_path, capsys):
    cases = [
        (["poisson", "--set", "train.causal=1"], "has no time coordinate"),
        (["heat", "--set", "train.causal=1", "--set", "train.rba=true"], "both weight the PDE points"),
        (["heat", "--set", "train.rba_decay=1.5"], "train.rba_decay = '1.5' must be in (0, 1)"),
        (["heat", "--set", "train.balance=softadapt"], "train.balance"),
    ]
    for argv, message in cases:
        out = tmp_path / argv[0]
        assert main(["solve", *argv, "--steps", "1", "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
        assert not out.exists()
    one_term = SimpleNamespace(name="only_pde", conditions=())
    with pytest.raises(ValueError, match="one loss term only"):
        GradientBalance.check(one_term, {"train": {"balance": "gradnorm"}, "data": {}})
