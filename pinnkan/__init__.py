"""pinnkan: physics-informed Kolmogorov–Arnold networks for PDEs, measured against MLPs."""

from pinnkan.jet import Jet, autograd_jet, forward_jet
from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Box, Condition, Derivative, Dirichlet, Initial, Periodic, Problem
from pinnkan.surrogates import KAN, MLP, KANLayer

__version__ = "0.1.0"

__all__ = [
    "KAN",
    "MLP",
    "Box",
    "Condition",
    "Derivative",
    "Dirichlet",
    "ErrorTracker",
    "Initial",
    "Jet",
    "KANLayer",
    "Periodic",
    "Problem",
    "autograd_jet",
    "forward_jet",
]
