"""Where a problem lives: the :class:`Domain` interface and its shapes.

Everything outside this package sees a domain only through :class:`Domain`:
interior samples, boundary samples by named part with outward unit normals,
``contains``, the signed distance, the bounding box and the measure. A new shape
is one subclass in one new file here (docs/architecture.md).
"""

from pinnkan.domains.ball import Ball
from pinnkan.domains.base import SAMPLINGS, BoundarySample, Domain, sobol, unit_cube
from pinnkan.domains.box import Box
from pinnkan.domains.csg import Difference, Intersection, SetOperation, Union
from pinnkan.domains.polygon import Polygon
from pinnkan.domains.spacetime import SpaceTime

Disk = Ball

__all__ = [
    "SAMPLINGS",
    "Ball",
    "BoundarySample",
    "Box",
    "Difference",
    "Disk",
    "Domain",
    "Intersection",
    "Polygon",
    "SetOperation",
    "SpaceTime",
    "Union",
    "sobol",
    "unit_cube",
]
