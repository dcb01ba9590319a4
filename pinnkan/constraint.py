"""Hard Dirichlet constraints: the boundary data built into the surrogate, u = g + d N.

On a box [lo, hi] (or a box whose last axis is time) a Dirichlet or initial
condition on whole faces can be imposed exactly instead of penalised: with N the
network,

    u(x) = g(x) + d(x) N(x),

g any function equal to the data on the constrained faces and d a function that
vanishes there (and nowhere inside). The condition then holds to rounding for
every parameter value, and training only has the PDE (and the soft conditions
left: Neumann, periodic, an initial rate, ...) to fit.

**d** is a product over the constrained axes, with s = (x_a - lo_a) / (hi_a - lo_a):
4 s (1 - s) where both faces of axis a are constrained, s where only the low one
is (an initial condition: t - t0), 1 - s where only the high one is.

**g** is the transfinite (Coons) interpolation of the data G, built from the data
on the faces alone (never from a solution inside). For one axis, the projector

    P_a G = (1 - s) G|lo + s G|hi      (both faces;  G|lo alone for only the low one)

matches G on axis a's faces; the Boolean sum g = (1 - prod_a (1 - P_a)) G matches
it on every constrained face, because each factor (1 - P_a) G vanishes on its own
faces and the P_a commute. Expanded, g is a signed sum of G at the points
projected onto faces, edges and corners: prod_a (1 + faces_a) - 1 evaluations
(8 on a square with four constrained sides). The data must agree where faces
meet (an initial value that is zero at the Dirichlet ends, say); where it does
not, the face of the first condition in the problem's list is used there.

The jets: g and d do not depend on the parameters, so their partials are
computed once per point set (nested forward mode, :func:`function_rows`) and
kept; the partials of the product follow by the Leibniz rule,
d^alpha (d N) = sum_{beta <= alpha} C(alpha, beta) d^beta d  d^(alpha - beta) N
(the Laplacian row: lap(d) N + 2 grad d . grad N + d lap N).
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
from collections.abc import Callable, Iterator

import torch
from torch import Tensor, nn
from torch.func import jvp

from pinnkan.conditions import Dirichlet, Initial, boundary_parts, evaluate_value
from pinnkan.domains import Box, SpaceTime
from pinnkan.layout import LAP, Layout

# kept partials of g and d per point set (an LRU of this many)
CACHE_SIZE = 8


def function_rows(fn: Callable[[Tensor], Tensor], x: Tensor, layout: Layout) -> Tensor:
    """(N, S, F): the value and the partials of ``layout`` of a pointwise fn (N, D) -> (N, F) at x.

    Pointwise: row i of the output depends on row i of the input only, so one
    forward-mode product with the tangent e_a in every row gives d/dx_a at every
    point. Nested products give the higher partials; the Laplacian row sums the
    diagonal. Works inside ``torch.func`` transforms (no reverse mode on x).
    """
    d = x.shape[1]
    eye = torch.eye(d, dtype=x.dtype, device=x.device)

    def along(f: Callable[[Tensor], Tensor], axis: int) -> Callable[[Tensor], Tensor]:
        return lambda z: jvp(f, (z,), (eye[axis].expand_as(z),))[1]

    memo: dict[tuple[int, ...], Callable[[Tensor], Tensor]] = {(): fn}

    def partial(key: tuple[int, ...]) -> Callable[[Tensor], Tensor]:
        if key not in memo:
            memo[key] = along(partial(key[:-1]), key[-1])
        return memo[key]

    values: dict[tuple[int, ...], Tensor] = {}

    def value(key: tuple[int, ...]) -> Tensor:
        if key not in values:
            # one product gives the partial and, as its primal, the parent partial
            parent, values[key] = jvp(partial(key[:-1]), (x,), (eye[key[-1]].expand_as(x),))
            values.setdefault(key[:-1], parent)
        return values[key]

    wanted = [k for k in layout.keys if k != LAP] + ([(a, a) for a in range(d)] if LAP in layout else [])
    for key in sorted(wanted, key=len, reverse=True):
        value(key)
    rows = [values[()] if () in values else fn(x)]
    for key in layout.keys:
        rows.append(sum(values[(a, a)] for a in range(d)) if key == LAP else values[key])
    return torch.stack(rows, dim=1)


@functools.cache
def leibniz_terms(layout: Layout) -> tuple[tuple[tuple[int, int, float], ...], ...]:
    """Per row of ``layout`` (0 the value): the terms (row of d, row of N, coefficient) of d N's row."""
    out: list[tuple[tuple[int, int, float], ...]] = [((0, 0, 1.0),)]
    for key in layout.keys:
        if key == LAP:
            grads = tuple((layout.row((a,)), layout.row((a,)), 2.0) for a in range(layout.dim))
            out.append(((layout.row(LAP), 0, 1.0), *grads, (0, layout.row(LAP), 1.0)))
            continue
        counts = {a: key.count(a) for a in sorted(set(key))}
        terms = []
        for taken in itertools.product(*(range(c + 1) for c in counts.values())):
            beta = tuple(a for a, t in zip(counts, taken) for _ in range(t))
            rest = tuple(a for a, t in zip(counts, taken) for _ in range(counts[a] - t))
            coef = float(math.prod(math.comb(c, t) for c, t in zip(counts.values(), taken)))
            terms.append((layout.row(beta) if beta else 0, layout.row(rest) if rest else 0, coef))
        out.append(tuple(terms))
    return tuple(out)


def box_faces(problem) -> dict[str, tuple[int, int]]:
    """Every boundary part of the problem's box domain as (axis, side), side 0 low and 1 high; a ValueError
    (one line) when the domain is not a box or a box times a time interval."""
    domain, coords = problem.domain, problem.coords
    if isinstance(domain, Box):
        return {p: domain.face(coords, p) for p in domain.parts(coords)}
    if isinstance(domain, SpaceTime) and isinstance(domain.space, Box):
        faces = {p: domain.space.face(coords[:-1], p) for p in domain.space.parts(coords[:-1])}
        faces.update({f"{coords[-1]}-": (len(coords) - 1, 0), f"{coords[-1]}+": (len(coords) - 1, 1)})
        return faces
    raise ValueError(
        f"model.hard_bc needs a box domain (or a box times a time interval); problem {problem.name!r} "
        f"is on a {type(domain).__name__}"
    )


def hard_faces(problem) -> dict[tuple[int, int], int]:
    """(axis, side) -> index of the condition imposed there: every Dirichlet or initial condition on whole faces
    (no ``where``); the first condition wins a face two of them name."""
    faces = box_faces(problem)
    owner: dict[tuple[int, int], int] = {}
    for i, cond in enumerate(problem.conditions):
        if type(cond) not in (Dirichlet, Initial) or cond.where is not None:
            continue
        spec = cond.faces or ((f"{problem.time}-",) if isinstance(cond, Initial) else ("all",))
        for part in problem.domain.select_parts(problem.coords, boundary_parts(problem, spec)):
            owner.setdefault(faces[part], i)
    if not owner:
        raise ValueError(
            f"model.hard_bc: problem {problem.name!r} has no Dirichlet or initial condition on whole faces to impose"
        )
    return owner


class HardDirichlet(nn.Module):
    """u = g + d N for the Dirichlet and initial conditions of ``problem`` on whole box faces (see the module
    docstring). Carried by a surrogate as ``model.constraint``; it has no parameters.

    ``conditions``: the indices of the conditions it imposes. A condition's value must be a torch expression
    of the points (a constant, the problem's exact solution, or a function returning a tensor): its partials
    along the faces enter g's.
    """

    def __init__(self, problem) -> None:
        super().__init__()
        if problem.enrichment:
            raise ValueError("model.hard_bc cannot be combined with the problem's singular functions (model.enrich)")
        self.problem = problem
        self.owner = hard_faces(problem)
        self.conditions = tuple(sorted(set(self.owner.values())))
        lo, hi = problem.domain.bounds()
        self.lo, self.hi = tuple(float(v) for v in lo), tuple(float(v) for v in hi)
        self.axes = tuple(sorted({a for a, _ in self.owner}))
        self._terms = self._projections()
        self._cache: list[tuple[Tensor, int, Layout, Tensor]] = []
        # rows handed in from outside a torch.func transform (:func:`given_rows`), used in place of data_rows
        self.given: tuple[Tensor, Tensor] | None = None
        self._check_values()

    def _check_values(self) -> None:
        probe = torch.as_tensor(self.problem.interior(4, seed=0), dtype=torch.float64)
        for i in self.conditions:
            value = self.problem.conditions[i].value
            if callable(value) and not isinstance(value(self.problem, probe), Tensor):
                name = self.problem.condition_names[i]
                raise ValueError(
                    f"model.hard_bc: the value of condition {name!r} must return a torch tensor (its derivatives "
                    "enter the constraint), not a NumPy array"
                )

    # --- g and d ------------------------------------------------------------------
    def _unit(self, x: Tensor, axis: int) -> Tensor:
        return (x[:, axis] - self.lo[axis]) / (self.hi[axis] - self.lo[axis])

    def distance(self, x: Tensor) -> Tensor:
        """(N, 1) d(x): zero on every constrained face, positive inside, at most 1."""
        out = x.new_ones(x.shape[0])
        for a in self.axes:
            s = self._unit(x, a)
            both = (a, 0) in self.owner and (a, 1) in self.owner
            out = out * (4.0 * s * (1.0 - s) if both else (s if (a, 0) in self.owner else 1.0 - s))
        return out[:, None]

    def _projections(self) -> tuple[list[float], list[list[int]], list[int]]:
        """The terms of g's expansion: signs (T,), per term and axis what it does (0: keeps x_a, 1: fixes it
        to lo with weight 1 - s or 1, 2: to hi with weight s or 1; +2 where the weight is 1 (one face only)),
        and the condition whose data each term reads."""
        signs, codes, owners = [], [], []
        for size in range(1, len(self.axes) + 1):
            for subset in itertools.combinations(self.axes, size):
                choices = [[side for side in (0, 1) if (a, side) in self.owner] for a in subset]
                for sides in itertools.product(*choices):
                    code = [0] * len(self.lo)
                    for a, side, choice in zip(subset, sides, choices):
                        code[a] = 1 + side + (2 if len(choice) == 1 else 0)
                    signs.append(1.0 if size % 2 else -1.0)
                    codes.append(code)
                    owners.append(min(self.owner[(a, side)] for a, side in zip(subset, sides)))
        return signs, codes, owners

    def boundary_value(self, x: Tensor) -> Tensor:
        """(N, F) g(x): the transfinite interpolation of the constrained faces' data.

        All T terms' projected points go through each condition's value in one batch (T N points)."""
        n, dim = x.shape
        signs, codes, owners = self._terms
        code = torch.tensor(codes, device=x.device)  # (T, D)
        lo = torch.tensor(self.lo, dtype=x.dtype, device=x.device)
        hi = torch.tensor(self.hi, dtype=x.dtype, device=x.device)
        s = (x - lo) / (hi - lo)
        one = torch.ones_like(s)
        # per term, point and axis: the coordinate (x, lo or hi) and the weight factor (1, 1 - s, s, 1, 1)
        coord = torch.stack([x, lo.expand_as(x), hi.expand_as(x), lo.expand_as(x), hi.expand_as(x)])
        factor = torch.stack([one, 1.0 - s, s, one, one])
        pick = code[:, None, None, :].expand(-1, 1, n, dim)  # (T, 1, N, D)
        points = coord[None].expand(len(codes), -1, -1, -1).gather(1, pick)[:, 0]  # (T, N, D)
        weight = factor[None].expand(len(codes), -1, -1, -1).gather(1, pick)[:, 0].prod(-1)  # (T, N)
        weight = weight * torch.tensor(signs, dtype=x.dtype, device=x.device)[:, None]
        total = x.new_zeros(n, len(self.problem.fields))
        for c in sorted(set(owners)):
            idx = [t for t, o in enumerate(owners) if o == c]
            xs = points[idx].reshape(-1, dim)
            like = x.new_zeros(xs.shape[0], len(self.problem.fields))
            values = evaluate_value(self.problem.conditions[c].value, self.problem, xs, like)
            total = total + (weight[idx, :, None] * values.reshape(len(idx), n, -1)).sum(0)
        return total

    def forward(self, x: Tensor, network: Tensor) -> Tensor:
        """u (N, F) from the points x (N, D) and the network's output N (N, F)."""
        if x.requires_grad or torch._C._functorch.is_functorch_wrapped_tensor(x):
            return self.boundary_value(x) + self.distance(x) * network
        g, d = self.data_rows(x, Layout(x.shape[1]))  # fixed points (a condition's, say): kept
        return g[:, 0] + d[:, 0] * network

    # --- jets ---------------------------------------------------------------------
    def data_rows(self, x: Tensor, layout: Layout) -> tuple[Tensor, Tensor]:
        """(g rows (N, S, F), d rows (N, S, 1)) at x, kept for the point sets seen last."""
        if self.given is not None:
            return self.given
        wrapped = torch._C._functorch.is_functorch_wrapped_tensor(x)
        if not wrapped:
            for i, (px, version, lay, rows) in enumerate(self._cache):
                if px is x and version == x._version and lay == layout:
                    self._cache.append(self._cache.pop(i))
                    return self._split(rows)
        rows = function_rows(lambda z: torch.cat([self.boundary_value(z), self.distance(z)], 1), x.detach(), layout)
        if not wrapped:
            self._cache = [*self._cache[-(CACHE_SIZE - 1) :], (x, x._version, layout, rows)]
        return self._split(rows)

    @staticmethod
    def _split(rows: Tensor) -> tuple[Tensor, Tensor]:
        return rows[..., :-1], rows[..., -1:]

    def rows(self, x: Tensor, layout: Layout, network: Tensor) -> Tensor:
        """(N, S, F) rows of u from the network's rows (N, S, F) at x (N, D) in ``layout``."""
        g, d = self.data_rows(x, layout)
        out = []
        for r, terms in enumerate(leibniz_terms(layout)):
            acc = g[:, r]
            for dr, nr, coef in terms:
                term = d[:, dr] * network[:, nr]
                acc = acc + (term if coef == 1.0 else coef * term)
            out.append(acc)
        return torch.stack(out, dim=1)

    def __deepcopy__(self, memo):  # the problem is shared, the kept rows are not copied
        return HardDirichlet(self.problem)

    def spec(self) -> dict:
        return {"conditions": [self.problem.condition_names[i] for i in self.conditions]}


@contextlib.contextmanager
def given_rows(model: nn.Module, rows: tuple[Tensor, ...]) -> Iterator[None]:
    """Inside the block, ``model.constraint`` uses ``rows`` = (g rows, d rows) of the points it is called on
    (computed outside a ``vmap`` over points, where nothing can be kept); no-op for an empty tuple."""
    constraint = getattr(model, "constraint", None)
    if constraint is None or not rows:
        yield
        return
    constraint.given = (rows[0], rows[1])
    try:
        yield
    finally:
        constraint.given = None


def attach_constraint(problem, model: nn.Module) -> None:
    """Give ``model`` the hard Dirichlet constraint of ``problem`` (``model.constraint``); a UserError (one line)
    when the problem has none that can be imposed."""
    from pinnkan.errors import UserError

    try:
        model.constraint = HardDirichlet(problem)
    except ValueError as exc:
        raise UserError(str(exc)) from None
