"""A problem nobody hands you the answer to: a plate with a hole.

Steady heat in a square plate [-1, 1]^2 with a round hole, heated evenly:
-Laplace(u) = 1, the outer edges held at u = 0, the hole's rim insulated
(du/dn = 0, n the outward normal of the plate, pointing into the hole). There is
no exact solution: the run tracks the PDE residual and the condition residuals on
check points instead.

    pinnkan solve examples/plate_with_hole.py --out runs/plate
    pinnkan eval runs/plate --grid 201 --out plate.csv --vtk plate.vtk
"""

from pinnkan import Box, Dirichlet, Disk, Neumann, Problem


class PlateWithHole(Problem):
    name = "plate_with_hole"
    description = "-Laplace(u) = 1 on a square with a round hole; u = 0 outside, du/dn = 0 on the hole"
    coords = ("x", "y")
    domain = Box((-1.0, -1.0), (1.0, 1.0)) - Disk((0.3, 0.2), 0.4, name="hole")
    conditions = (Dirichlet(faces=("x-", "x+", "y-", "y+"), value=0.0), Neumann(faces=("hole",)))
    defaults = {"n_interior": 4000, "n_boundary": 800, "optimizer": "adam+lm", "steps": 30}

    def residual(self, x, jet):
        return jet.lap() + 1.0
