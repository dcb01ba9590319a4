"""pinnkan: physics-informed Kolmogorov–Arnold networks for PDEs, measured against MLPs.

The library in three calls (docs/architecture.md has the whole picture)::

    problem = pinnkan.load_problem("poisson")
    solution = pinnkan.solve(problem, "kan", width=[2, 10, 1], grids=[5, 10, 20])
    solution.errors["rel_l2"]
"""

import os as _os

# OpenMP threads (torch's and numba's) that wait for work spin for a short while, then
# sleep: with the default (long spinning) two pinnkan runs on one 2-core machine took 7x
# as long as one; see the README's "Threads and two jobs on one machine". Must be set
# before torch or numba start their thread pools; a value the user set wins.
_os.environ.setdefault("GOMP_SPINCOUNT", "1000")

from pinnkan.conditions import (
    Condition,
    Derivative,
    Dirichlet,
    Initial,
    Neumann,
    Operator,
    Periodic,
    PointSet,
    Robin,
)
from pinnkan.domains import Ball, Box, Difference, Disk, Domain, Intersection, Polygon, SpaceTime, Union
from pinnkan.enrichment import CornerSingularity
from pinnkan.errors import UserError
from pinnkan.jet import Jet, autograd_jet, forward_jet
from pinnkan.layout import Layout
from pinnkan.metrics import ErrorTracker
from pinnkan.problem import Problem
from pinnkan.solve import Solution, load_problem, make_surrogate, solve
from pinnkan.surrogates import KAN, MLP, KANLayer, Surrogate, register_surrogate
from pinnkan.training import Callback, Phase, register_phase
from pinnkan.unknowns import Unknown

__version__ = "0.1.0"

__all__ = [
    "KAN",
    "MLP",
    "Ball",
    "Box",
    "Callback",
    "Condition",
    "CornerSingularity",
    "Derivative",
    "Difference",
    "Dirichlet",
    "Disk",
    "Domain",
    "ErrorTracker",
    "Initial",
    "Intersection",
    "Jet",
    "KANLayer",
    "Layout",
    "Neumann",
    "Operator",
    "Periodic",
    "Phase",
    "PointSet",
    "Polygon",
    "Problem",
    "Robin",
    "Solution",
    "SpaceTime",
    "Surrogate",
    "Union",
    "Unknown",
    "UserError",
    "autograd_jet",
    "forward_jet",
    "load_problem",
    "make_surrogate",
    "register_phase",
    "register_surrogate",
    "solve",
]
