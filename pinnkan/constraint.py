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


def _candidates(problem) -> list[tuple[int, list[int], list[tuple[int, int]]]]:
    """(condition index, field columns, faces) of every Dirichlet or initial condition on whole box faces."""
    from pinnkan.conditions import start_faces

    faces = box_faces(problem)
    out = []
    for i, cond in enumerate(problem.conditions):
        if type(cond) not in (Dirichlet, Initial) or cond.where is not None:
            continue
        spec = cond.faces or (start_faces(problem) if isinstance(cond, Initial) else ("all",))
        columns = cond.columns(problem) or list(range(len(problem.fields)))
        parts = problem.domain.select_parts(problem.coords, boundary_parts(problem, spec))
        out.append((i, columns, [faces[p] for p in parts]))
    return out


def _edge_points(problem, a: tuple[int, int], b: tuple[int, int], n: int = 64) -> Tensor:
    """n points (n, D) where face a (axis, side) meets face b (another axis)."""
    from pinnkan.domains import sobol

    lo, hi = (torch.as_tensor(v, dtype=torch.float64) for v in problem.domain.bounds())
    x = lo + torch.as_tensor(sobol(n, len(lo), 17), dtype=torch.float64) * (hi - lo)
    for axis, side in (a, b):
        x[:, axis] = hi[axis] if side else lo[axis]
    return x


def _disagree(problem, i: int, j: int, column: int, x: Tensor) -> float:
    """max |value_i - value_j| of field ``column`` of conditions i and j at x (N, D), relative to the larger of
    1 and their largest magnitude."""
    out = []
    for k in (i, j):
        cond = problem.conditions[k]
        own = cond.columns(problem) or list(range(len(problem.fields)))
        value = evaluate_value(cond.value, problem, x, x.new_zeros(len(x), len(own)), cond.columns(problem))
        out.append(value[:, own.index(column)])
    scale = max(1.0, float(out[0].abs().max()), float(out[1].abs().max()))
    return float((out[0] - out[1]).abs().max()) / scale


def hard_faces(problem) -> dict[int, dict[tuple[int, int], int]]:
    """Per field column: (axis, side) -> index of the condition imposed there, for the Dirichlet or initial
    conditions on whole faces (no ``where``) that set that field; a face two of them name goes to the first.

    Conditions are taken largest first (by the number of faces times fields they set). One whose data
    disagrees with an already imposed condition's where their faces meet (a lid moving at u = 1 against walls
    at rest) cannot be imposed by a continuous g: it is left out and stays in the loss, penalised. Fields no
    imposed condition sets are left out."""
    candidates = sorted(_candidates(problem), key=lambda c: -len(c[1]) * len(c[2]))
    owner: dict[int, dict[tuple[int, int], int]] = {}
    with torch.no_grad():
        for i, columns, faces in candidates:
            clash = False
            for f in columns:
                for face in faces:
                    for other, j in owner.get(f, {}).items():
                        if other[0] == face[0] or j == i:
                            continue
                        if _disagree(problem, i, j, f, _edge_points(problem, face, other)) > 1e-6:
                            clash = True
            if clash:
                continue
            for f in columns:
                for face in faces:
                    owner.setdefault(f, {}).setdefault(face, i)
    if not owner:
        raise ValueError(
            f"model.hard_bc: problem {problem.name!r} has no Dirichlet or initial condition on whole faces to impose"
        )
    return owner


def imposed_conditions(problem) -> set[int]:
    """The indices of the conditions model.hard_bc imposes (own a face of some field): they leave the loss."""
    return {i for faces in hard_faces(problem).values() for i in faces.values()}


class FaceGroup:
    """The fields ``columns`` whose constrained faces and owning conditions are the same (``owner``:
    (axis, side) -> condition index): they share d and the terms of g's expansion."""

    def __init__(self, columns: list[int], owner: dict[tuple[int, int], int]) -> None:
        self.columns, self.owner = columns, owner
        self.axes = tuple(sorted({a for a, _ in owner}))
        self.terms = self._projections()

    def _projections(self) -> tuple[list[float], list[list[int]], list[int]]:
        """The terms of g's expansion: signs (T,), per term and axis what it does (0: keeps x_a, 1: fixes it
        to lo with weight 1 - s or 1, 2: to hi with weight s or 1; +2 where the weight is 1 (one face only)),
        and the condition whose data each term reads."""
        signs, codes, owners = [], [], []
        dim = 1 + max(a for a, _ in self.owner)
        for size in range(1, len(self.axes) + 1):
            for subset in itertools.combinations(self.axes, size):
                choices = [[side for side in (0, 1) if (a, side) in self.owner] for a in subset]
                for sides in itertools.product(*choices):
                    code = [0] * dim
                    for a, side, choice in zip(subset, sides, choices):
                        code[a] = 1 + side + (2 if len(choice) == 1 else 0)
                    signs.append(1.0 if size % 2 else -1.0)
                    codes.append(code)
                    owners.append(min(self.owner[(a, side)] for a, side in zip(subset, sides)))
        return signs, codes, owners


# the largest number of terms g's expansion may have (a cube's 26 faces, edges and corners are fine; the
# 3^10 - 1 of a 10-D box with every face constrained are not)
MAX_TERMS = 4096


class HardDirichlet(nn.Module):
    """u = g + d N for the Dirichlet and initial conditions of ``problem`` on whole box faces (see the module
    docstring). Carried by a surrogate as ``model.constraint``; it has no parameters.

    ``conditions``: the indices of the conditions it imposes. A condition's value must be a torch expression
    of the points (a constant, the problem's exact solution, or a function returning a tensor): its partials
    along the faces enter g's. Conditions that set some fields only (``fields=``) constrain those: d is one
    column per field (1 for a field nothing imposes), g the interpolation of each field's own faces.
    """

    def __init__(self, problem) -> None:
        super().__init__()
        if problem.enrichment:
            raise ValueError("model.hard_bc cannot be combined with the problem's singular functions (model.enrich)")
        self.problem = problem
        per_field = hard_faces(problem)
        groups: dict[tuple, list[int]] = {}
        for f, owner in sorted(per_field.items()):
            groups.setdefault(tuple(sorted(owner.items())), []).append(f)
        self.groups = [FaceGroup(cols, dict(key)) for key, cols in groups.items()]
        terms = sum(len(g.terms[0]) for g in self.groups)
        if terms > MAX_TERMS:
            raise ValueError(
                f"model.hard_bc: imposing the data of {len(self.groups[0].axes)} constrained axes takes {terms} "
                f"evaluations of it per point (more than {MAX_TERMS}); leave the conditions penalised"
            )
        self.conditions = tuple(sorted({i for g in self.groups for i in g.owner.values()}))
        lo, hi = problem.domain.bounds()
        self.lo, self.hi = tuple(float(v) for v in lo), tuple(float(v) for v in hi)
        self._cache: list[tuple[Tensor, int, Layout, Tensor]] = []
        # rows handed in from outside a torch.func transform (:func:`given_rows`), used in place of data_rows
        self.given: tuple[Tensor, Tensor] | None = None
        self._check_values()

    @property
    def owner(self) -> dict[tuple[int, int], int]:
        """(axis, side) -> condition index of the first constrained field (all fields, for most problems)."""
        return self.groups[0].owner

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
        """(N, F) d(x) per field: zero on every face constrained for that field, positive inside, at most 1
        (1 everywhere for a field nothing imposes)."""
        columns = []
        for group in self.groups:
            out = x.new_ones(x.shape[0])
            for a in group.axes:
                s = self._unit(x, a)
                both = (a, 0) in group.owner and (a, 1) in group.owner
                out = out * (4.0 * s * (1.0 - s) if both else (s if (a, 0) in group.owner else 1.0 - s))
            columns.append((group.columns, out))
        return self._assemble(x, columns, 1.0)

    def _assemble(self, x: Tensor, columns: list[tuple[list[int], Tensor]], fill: float) -> Tensor:
        """(N, F) from per-group values ((N,) or (N, len(cols))), ``fill`` in the fields no group has; built by
        concatenation, so it works inside torch.func transforms."""
        n, f = x.shape[0], len(self.problem.fields)
        parts: dict[int, Tensor] = {}
        for cols, value in columns:
            for k, c in enumerate(cols):
                parts[c] = value if value.dim() == 1 else value[:, k]
        return torch.stack([parts[c] if c in parts else x.new_full((n,), fill) for c in range(f)], dim=1)

    def boundary_value(self, x: Tensor) -> Tensor:
        """(N, F) g(x): per field, the transfinite interpolation of its constrained faces' data (0 for a field
        nothing imposes).

        All T terms' projected points of a group go through each condition's value in one batch (T N points)."""
        n, dim = x.shape
        lo = torch.tensor(self.lo, dtype=x.dtype, device=x.device)
        hi = torch.tensor(self.hi, dtype=x.dtype, device=x.device)
        s = (x - lo) / (hi - lo)
        one = torch.ones_like(s)
        # per term, point and axis: the coordinate (x, lo or hi) and the weight factor (1, 1 - s, s, 1, 1)
        coord = torch.stack([x, lo.expand_as(x), hi.expand_as(x), lo.expand_as(x), hi.expand_as(x)])
        factor = torch.stack([one, 1.0 - s, s, one, one])
        columns = []
        for group in self.groups:
            signs, codes, owners = group.terms
            code = torch.tensor([c + [0] * (dim - len(c)) for c in codes], device=x.device)  # (T, D)
            pick = code[:, None, None, :].expand(-1, 1, n, dim)  # (T, 1, N, D)
            points = coord[None].expand(len(codes), -1, -1, -1).gather(1, pick)[:, 0]  # (T, N, D)
            weight = factor[None].expand(len(codes), -1, -1, -1).gather(1, pick)[:, 0].prod(-1)  # (T, N)
            weight = weight * torch.tensor(signs, dtype=x.dtype, device=x.device)[:, None]
            total = x.new_zeros(n, len(group.columns))
            for c in sorted(set(owners)):
                cond = self.problem.conditions[c]
                idx = [t for t, o in enumerate(owners) if o == c]
                xs = points[idx].reshape(-1, dim)
                own = cond.columns(self.problem) or list(range(len(self.problem.fields)))
                like = x.new_zeros(xs.shape[0], len(own))
                values = evaluate_value(cond.value, self.problem, xs, like, cond.columns(self.problem))
                values = values[:, [own.index(f) for f in group.columns]]
                total = total + (weight[idx, :, None] * values.reshape(len(idx), n, -1)).sum(0)
            columns.append((group.columns, total))
        return self._assemble(x, columns, 0.0)

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

    def _split(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        f = len(self.problem.fields)
        return rows[..., :f], rows[..., f:]

    def rows(self, x: Tensor, layout: Layout, network: Tensor) -> Tensor:
        """(N, S, F) rows of u from the network's rows (N, S, F) at x (N, D) in ``layout`` (d's rows are
        (N, S, F) too: one column per field)."""
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
