"""Scaling sweeps: error against parameter count per surrogate family, with fitted exponents.

- spec.py: the sweep TOML and the runs it plans;
- executors.py: where points run (this process, local processes, Ray);
- results.py: the results table, read back from the run folders;
- fits.py: exponent fits per family and per grid ladder;
- figures.py: scaling.png and grid_extension.png;
- run.py: the whole sweep, resumable; cli.py: `pinnkan sweep` and `pinnkan plot`.
"""

from pinnkan.sweeps.fits import fit_all, fit_exponent, select_points
from pinnkan.sweeps.run import redraw, run_sweep
from pinnkan.sweeps.spec import plan

__all__ = ["fit_all", "fit_exponent", "plan", "redraw", "run_sweep", "select_points"]
