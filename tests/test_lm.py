"""Gauss–Newton training: the residual vector and its Jacobian against the loss and its gradient,
for every surrogate with forward jets and every kind of condition; the Levenberg–Marquardt phase."""

from types import SimpleNamespace

import pytest
import torch

import pinnkan
from pinnkan.cli import main
from pinnkan.training import Collocation, PINNLoss
from pinnkan.training.jacobian import reference_ops, residual_jacobian
from pinnkan.training.lm import LevenbergMarquardt
from pinnkan.training.lm_cg import MatrixFreeLM

from .conftest import rel_err, surrogate_kinds

SMALL = {"n_interior": 60, "n_boundary": 12, "n_initial": 12, "sampling": "sobol"}


def _loss(problem_name: str, kind: str, width=None) -> PINNLoss:
    p = pinnkan.load_problem(problem_name)
    model = pinnkan.make_surrogate(kind, p, width=width)
    with torch.no_grad():
        for q in model.parameters():
            q.add_(0.05 * torch.randn_like(q))
    points = Collocation.sample(p, SMALL, 0, torch.float64, "cpu")
    return PINNLoss(p, model, "forward", points, 0.1)


# advection: a periodic condition (pairs of points); kovasznay: three fields; wave: a derivative condition
@pytest.mark.parametrize("problem", ["poisson", "advection", "kovasznay", "wave"])
@pytest.mark.parametrize("kind", surrogate_kinds())
def test_residual_vector_and_jacobian_match_loss_and_gradient(problem, kind):
    width = [2, 8, 8, 1 if problem != "kovasznay" else 3] if kind == "mlp" else None
    loss = _loss(problem, kind, width)
    r, jac = residual_jacobian(loss, chunk=25)  # several chunks
    value = loss.terms()["loss"]
    loss.model.zero_grad()
    value.backward()
    grad = torch.cat([q.grad.reshape(-1) for q in loss.model.parameters()])
    assert jac.shape == (r.shape[0], grad.shape[0])
    assert abs(float(r @ r - value.detach())) < 1e-12 * float(value.detach())
    assert rel_err(2 * jac.T @ r, grad) < 1e-10
    assert all(getattr(m, "fused", True) for m in loss.model.modules())  # switched back on


def test_jacobian_rows_are_per_point_gradients():
    loss = _loss("poisson", "kan")
    r, jac = residual_jacobian(loss)
    # the first row is the scaled residual at the first interior point alone
    p, x = loss.problem, loss.points.interior[:1]
    with reference_ops(loss.model):
        jet = loss.model.forward_jet(x, 2, laplacian=True).to_jet(p.coords, p.fields)
        r0 = p.residual(x, jet)[0] * (loss.alpha / loss.points.interior.shape[0]) ** 0.5
    loss.model.zero_grad()
    r0.backward()
    g0 = torch.cat([q.grad.reshape(-1) for q in loss.model.parameters()])
    assert abs(float(r0.detach() - r[0])) < 1e-14 and rel_err(jac[0], g0) < 1e-12


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_lm_steps_never_increase_the_loss_and_beat_lbfgs(kind):
    from pinnkan.training import LBFGS

    # how far 20 steps get depends on the start (an MLP [2,6,6,1] from seeds 0-3 drops 2.4x to 670x): three
    # starts, each compared with L-BFGS from the same start, and the median drop
    width = [2, 6, 6, 1] if kind != "kan" else None
    drops = []
    for seed in range(3):
        results = {}
        for phase_cls in (LevenbergMarquardt, LBFGS):
            torch.manual_seed(seed)
            loss = _loss("poisson_sinsin", kind, width)
            phase = phase_cls(loss, {"lm_damping": 1e-3, "lm_max_params": 6000, "history_size": 50})
            start = float(loss.terms()["loss"].detach())
            results[phase_cls.name] = [start] + [phase.step()["loss"] for _ in range(20)]
        lm = results["lm"]
        assert all(b <= a for a, b in zip(lm, lm[1:]))  # a rejected step is retried, never taken
        assert lm[-1] < results["lbfgs"][-1], seed
        drops.append(lm[0] / lm[-1])
    assert sorted(drops)[1] > 5.0, drops


def test_lm_state_roundtrip_and_retry_damping():
    loss = _loss("poisson", "kan")
    phase = LevenbergMarquardt(loss, {"lm_damping": 1e-3})
    phase.step()
    other = LevenbergMarquardt(loss, {"lm_damping": 1.0})
    other.load_state_dict(phase.state_dict())
    assert other.damping == phase.damping
    other.scale_lr(0.1)
    assert other.damping == pytest.approx(phase.damping * 10)


def test_lm_refuses_big_models_and_surrogates_without_jets(tmp_path, capsys):
    argv = ["solve", "poisson", "--optimizer", "lm", "--model", "mlp", "--steps", "1", "--out", str(tmp_path / "a")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "more than train.lm_max_params = 6000" in err[0]
    assert not (tmp_path / "a").exists()
    no_jets = SimpleNamespace(has_forward_jet=False, kind="toy", parameters=lambda: [])
    with pytest.raises(ValueError, match="needs forward jets"):
        LevenbergMarquardt.check(no_jets, {})


def test_lm_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["solve", "poisson_sinsin", "--optimizer", "adam+lm", "--adam-steps", "5", "--steps", "4"]
    argv += ["--grids", "3", "--n-interior", "100", "--n-boundary", "20", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert "lm" in (out / "history.csv").read_text()


@pytest.mark.parametrize("kind", surrogate_kinds())
def test_matrix_free_lm_never_increases_the_loss_and_converges(kind):
    width = [2, 6, 6, 1] if kind != "kan" else None
    torch.manual_seed(0)
    loss = _loss("poisson_sinsin", kind, width)
    phase = MatrixFreeLM(loss, {"lm_damping": 1e-3, "lm_cg_iters": 30, "lm_cg_tol": 1e-6})
    values = [float(loss.terms()["loss"].detach())] + [phase.step()["loss"] for _ in range(12)]
    assert all(b <= a for a, b in zip(values, values[1:]))
    assert values[-1] < 0.1 * values[0]
    assert phase.cg_iterations and max(phase.cg_iterations) <= 30


def test_matrix_free_lm_takes_models_too_big_for_the_dense_system(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["solve", "poisson", "--model", "mlp", "--optimizer", "lm_cg", "--steps", "2", "--n-interior", "64"]
    argv += ["--n-boundary", "16", "--set", "train.lm_cg_iters=5", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert "lm_cg" in (out / "history.csv").read_text()
    no_jets = SimpleNamespace(has_forward_jet=False, kind="toy", parameters=lambda: [])
    with pytest.raises(ValueError, match="needs forward jets"):
        MatrixFreeLM.check(no_jets, {})


@pytest.mark.parametrize("shape, block", [((50, 7), 512), ((300, 97), 16), ((300, 96), 32), ((40, 65), 8)])
def test_gram_is_the_normal_matrix_and_exactly_symmetric(shape, block):
    """J^T J from the blocks on and above the diagonal equals the plain product to rounding, for widths that are
    and are not multiples of the block, and is symmetric bit for bit (Cholesky reads one triangle)."""
    from pinnkan.training.lm import gram

    jac = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    a = gram(jac, block)
    plain = jac.T @ jac
    assert float((a - plain).abs().max()) <= 1e-12 * float(plain.abs().max())
    assert torch.equal(a, a.T)
