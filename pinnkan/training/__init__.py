"""Physics-informed training built from parts: a loss, optimizer phases, callbacks.

- :class:`PINNLoss` and :class:`Collocation` (loss.py): the loss and its points;
- :class:`Phase` (phase.py) and one module per optimizer (adam.py, lbfgs.py, lm.py, lm_cg.py),
  registered in :data:`PHASES`;
- :class:`Callback` (callback.py) and the built-in ones: grid extension (grid.py),
  stopping rules (stopping.py), history and progress (history.py), resampling (resample.py);
- :class:`Technique` (technique.py): adaptive training switched on by ``[train]`` keys, registered in
  :data:`TECHNIQUES`: residual-based attention (attention.py), causal weights (causal.py),
  loss balancing by gradient norms (balance.py);
- :class:`Trainer` (trainer.py): the loop that runs stages of phases and calls the callbacks.
"""

from __future__ import annotations

from pinnkan.training.adam import Adam
from pinnkan.training.attention import ResidualAttention
from pinnkan.training.balance import GradientBalance
from pinnkan.training.budget import BudgetedTraining
from pinnkan.training.callback import Callback
from pinnkan.training.causal import CausalWeights
from pinnkan.training.grid import GridExtension
from pinnkan.training.history import HistoryLogger, Progress
from pinnkan.training.lbfgs import LBFGS
from pinnkan.training.lm import LevenbergMarquardt
from pinnkan.training.lm_cg import MatrixFreeLM
from pinnkan.training.loss import LOSS_TERMS, Collocation, PINNLoss, term_names
from pinnkan.training.phase import Phase
from pinnkan.training.schedule import Stage, plan
from pinnkan.training.state import TrainState
from pinnkan.training.stopping import Divergence, Stall, TimeBudget
from pinnkan.training.technique import Technique
from pinnkan.training.trainer import Outcome, Trainer, default_callbacks

# optimizer phases by the name train.optimizer uses; a new optimizer is one module and one entry
PHASES: dict[str, type[Phase]] = {"adam": Adam, "lbfgs": LBFGS, "lm": LevenbergMarquardt, "lm_cg": MatrixFreeLM}
# adaptive-training callbacks, each switched on by its own [train] keys; one module and one entry each
TECHNIQUES: dict[str, type[Technique]] = {
    "rba": ResidualAttention,
    "causal": CausalWeights,
    "balance": GradientBalance,
    "adaptive": BudgetedTraining,
}


def register_phase(cls: type[Phase]) -> type[Phase]:
    """Add a phase class under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, Phase)) or not cls.name:
        raise ValueError("a phase is a pinnkan Phase subclass with a non-empty name")
    PHASES[cls.name] = cls
    return cls


__all__ = [
    "LOSS_TERMS",
    "PHASES",
    "Adam",
    "BudgetedTraining",
    "CausalWeights",
    "GradientBalance",
    "ResidualAttention",
    "TECHNIQUES",
    "Technique",
    "Callback",
    "Collocation",
    "Divergence",
    "GridExtension",
    "HistoryLogger",
    "LBFGS",
    "LevenbergMarquardt",
    "MatrixFreeLM",
    "Outcome",
    "PINNLoss",
    "Phase",
    "Progress",
    "Stage",
    "Stall",
    "TimeBudget",
    "TrainState",
    "Trainer",
    "default_callbacks",
    "plan",
    "register_phase",
    "term_names",
]
