"""The L2/H1 error definitions on a hand-computed case, and the tracker on a known error."""

import math

import torch

from pinnkan.metrics import ErrorTracker, error_metrics
from pinnkan.registry import get_problem


def test_error_metrics_hand_computed():
    # two points, one field, D = 1
    u = torch.tensor([[1.0], [2.0]])
    pred = torch.tensor([[1.5], [2.0]])
    gu = torch.tensor([[[0.0]], [[1.0]]])
    gp = torch.tensor([[[1.0]], [[1.0]]])
    m = error_metrics(pred, gp, u, gu)
    # e = (0.5, 0), grad e = (1, 0)
    assert math.isclose(m["mse"].item(), 0.125)
    assert math.isclose(m["rel_l2"].item(), 0.5 / math.sqrt(5))
    assert math.isclose(m["h1_mse"].item(), (0.25 + 1) / 2)
    assert math.isclose(m["rel_h1"].item(), math.sqrt(1.25) / math.sqrt(1 + 4 + 1))


class Shifted(torch.nn.Module):
    """The exact solution plus a constant c: e = c, grad e = 0."""

    def __init__(self, problem, c):
        super().__init__()
        self.problem, self.c = problem, c

    def forward(self, x):
        return self.problem.exact(x) + self.c


def test_tracker_on_a_known_error():
    p = get_problem("poisson_sinsin")()
    tracker = ErrorTracker(p)
    m = tracker(Shifted(p, 0.1), engine="autograd")
    assert math.isclose(m["mse"], 0.01, rel_tol=1e-12)
    assert math.isclose(m["h1_mse"], 0.01, rel_tol=1e-12)
    u2 = tracker.u.square().sum().item()
    assert math.isclose(m["rel_l2"], math.sqrt(0.01 * tracker.u.shape[0] / u2), rel_tol=1e-12)
    exact = tracker(Shifted(p, 0.0), engine="autograd")
    assert exact["mse"] < 1e-28 and exact["rel_h1"] < 1e-14


def test_tracker_reports_each_field_and_their_mean():
    p = get_problem("kovasznay")()
    tracker = ErrorTracker(p)
    m = tracker(Shifted(p, torch.tensor([0.1, 0.0, 0.2])), engine="autograd")
    assert math.isclose(m["mse_u"], 0.01) and m["mse_v"] == 0.0 and math.isclose(m["mse_p"], 0.04)
    assert math.isclose(m["mse"], 0.05 / 3)


def test_a_hard_constraints_data_rows_are_computed_once_per_test_set(monkeypatch):
    """Logging errors at every step must not recompute g and d (for a later time window, g is the previous
    window's surrogate): the test set goes to the surrogate as the same tensor each time."""
    import pinnkan.constraint
    from pinnkan.constraint import attach_constraint
    from pinnkan.solve import make_surrogate

    problem = get_problem("heat")()
    model = make_surrogate("chebyshev", problem, width=[2, 4, 1])
    attach_constraint(problem, model)
    tracker = ErrorTracker(problem)
    calls = []
    real = pinnkan.constraint.function_rows
    monkeypatch.setattr(pinnkan.constraint, "function_rows", lambda *a: calls.append(1) or real(*a))
    first = tracker(model, "forward")
    assert tracker(model, "forward") == first and len(calls) == 1
