"""Every shape: exact interior counts, boundary points on the boundary with outward unit normals, part
measures, the set operations' seams, and one-line refusals of degenerate shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pinnkan.domains import Ball, Box, Disk, Domain, Polygon, SpaceTime

L_VERTICES = ((-1, -1), (0, -1), (0, 0), (1, 0), (1, 1), (-1, 1))

# name -> (domain, coords, exact area/volume, exact boundary measure)
SHAPES: dict[str, tuple[Domain, tuple[str, ...], float, float]] = {
    "box": (Box((-1.0, 0.0), (1.0, 2.0)), ("x", "y"), 4.0, 8.0),
    "box3": (Box((0.0,) * 3, (1.0,) * 3), ("x", "y", "z"), 1.0, 6.0),
    "disk": (Disk((0.5, -0.5), 0.7), ("x", "y"), math.pi * 0.49, 2 * math.pi * 0.7),
    "ball3": (Ball((0.0, 0.0, 0.0), 1.0), ("x", "y", "z"), 4 / 3 * math.pi, 4 * math.pi),
    "polygon_l": (Polygon(L_VERTICES), ("x", "y"), 3.0, 8.0),
    "l_by_union": (Box((-1.0, -1.0), (0.0, 1.0)) | Box((0.0, 0.0), (1.0, 1.0)), ("x", "y"), 3.0, 8.0),
    "l_by_difference": (Box((-1.0, -1.0), (1.0, 1.0)) - Box((0.0, -1.0), (1.0, 0.0), name="cut"), ("x", "y"), 3.0, 8.0),
    "plate_with_hole": (
        Box((0.0, 0.0), (1.0, 1.0)) - Disk((0.5, 0.5), 0.2, name="hole"),
        ("x", "y"),
        1 - math.pi * 0.04,
        4 + 2 * math.pi * 0.2,
    ),
    "lens": (
        Disk((0.0, 0.0), 1.0) & Disk((1.0, 0.0), 1.0, name="right"),
        ("x", "y"),
        2 * math.pi / 3 - math.sqrt(3) / 2,
        4 * math.pi / 3,
    ),
    "hole_in_time": (
        SpaceTime(Box((0.0, 0.0), (1.0, 1.0)) - Disk((0.5, 0.5), 0.2, name="hole"), (0.0, 2.0)),
        ("x", "y", "t"),
        2 * (1 - math.pi * 0.04),
        2 * (4 + 2 * math.pi * 0.2) + 2 * (1 - math.pi * 0.04),
    ),
}


@pytest.fixture(params=sorted(SHAPES))
def shape(request):
    return SHAPES[request.param]


def test_interior_is_filled_exactly_and_inside(shape):
    dom, _, area, _ = shape
    for n in (1, 100, 1000):
        pts = dom.sample_interior(n, seed=3)
        assert pts.shape == (n, dom.dim)
        assert dom.contains(pts).all()
    assert dom.sample_interior(300, seed=3).tolist() == dom.sample_interior(300, seed=3).tolist()
    assert dom.measure() == pytest.approx(area, rel=1e-2)


def test_boundary_points_lie_on_the_boundary_with_outward_unit_normals(shape):
    dom, coords, _, _ = shape
    b = dom.sample_boundary(900, seed=1, coords=coords)
    assert b.points.shape == b.normals.shape == (900, dom.dim)
    sdf = dom.signed_distance(torch.as_tensor(b.points)).numpy()
    assert np.abs(sdf).max() < 1e-12
    assert np.allclose(np.linalg.norm(b.normals, axis=1), 1.0)
    # a small step along the normal leaves the domain, a step against it stays inside
    eps = 1e-4
    assert not dom.contains(b.points + eps * b.normals).any()
    assert dom.contains(b.points - eps * b.normals).all()
    # the normal a condition computes from the points alone is the sampled one (corners aside)
    away = np.ones(len(b.points), dtype=bool)
    normal = dom.normal(torch.as_tensor(b.points)).numpy()
    assert (np.abs(normal - b.normals).max(axis=1) < 1e-12)[away].mean() > 0.99


def test_part_measures_add_up_and_share_the_points(shape):
    dom, coords, _, perimeter = shape
    parts = dom.parts(coords)
    measures = np.array([dom.part_measure(coords, p) for p in parts])
    assert measures.sum() == pytest.approx(perimeter, rel=2e-2)
    n = 4000
    b = dom.sample_boundary(n, seed=2, coords=coords)
    assert len(b.points) == n
    for p, m in zip(parts, measures):
        got = dom.sample_boundary(50, seed=2, coords=coords, parts=(p,)) if m > 0 else None
        if got is not None:
            assert np.abs(dom.signed_distance(torch.as_tensor(got.points)).numpy()).max() < 1e-12


def test_normals_and_distance_run_under_vmap(shape):
    """Gauss–Newton's per-point Jacobians evaluate conditions under torch.func.vmap."""
    dom, coords, _, _ = shape
    x = torch.as_tensor(dom.sample_boundary(16, seed=0, coords=coords).points)
    per_point = torch.func.vmap(lambda p: dom.normal(p[None])[0])(x)
    assert torch.allclose(per_point, dom.normal(x))
    torch.func.vmap(lambda p: dom.signed_distance(p[None])[0])(x)


def test_set_operations_drop_the_seams():
    union = Box((-1.0, -1.0), (0.0, 1.0)) | Box((0.0, 0.0), (1.0, 1.0))
    pts = union.sample_boundary(2000, 0, ("x", "y")).points
    seam = np.isclose(pts[:, 0], 0.0) & (pts[:, 1] > 1e-9)  # x = 0, y in (0, 1): inside the union
    assert not seam.any()
    hole = Box((0.0, 0.0), (1.0, 1.0)) - Disk((0.5, 0.5), 0.2, name="hole")
    assert hole.parts(("x", "y")) == ("x-", "x+", "y-", "y+", "hole")
    rim = hole.sample_boundary(400, 0, ("x", "y"), ("hole",))
    # the hole's normals point into the hole (out of the plate)
    assert np.allclose(rim.normals, -(rim.points - 0.5) / 0.2)
    cut = Box((-1.0, -1.0), (1.0, 1.0)) - Box((0.0, -1.0), (1.0, 0.0), name="cut")
    assert cut.part_measure(("x", "y"), "cut.x+") == 0.0
    assert cut.part_measure(("x", "y"), "x+") == pytest.approx(1.0, rel=2e-2)


def test_boundary_split_follows_measure_and_predicates():
    dom = Box((0.0, 0.0), (3.0, 1.0))
    pts = dom.sample_boundary(800, 0, ("x", "y")).points
    on_long = np.isclose(pts[:, 1], 0.0) | np.isclose(pts[:, 1], 1.0)
    assert on_long.sum() == 600  # 3 + 3 of 8
    upper = Disk((0.0, 0.0), 1.0).sample_boundary(100, 0, ("x", "y"), where=lambda x: x[:, 1] > 0)
    assert len(upper.points) == 100 and (upper.points[:, 1] > 0).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Polygon(((0, 0), (1, 0))), "at least 3 vertices"),
        (lambda: Polygon(((0, 0), (1, 0), (2, 0))), "enclose no area"),
        (lambda: Polygon(((0, 0), (2, 0), (2, 2), (1, -1), (0, 2))), "cross"),
        (lambda: Polygon(((0, 0), (0, 0), (1, 0), (0, 1))), "coincide"),
        (lambda: Box((0.0, 0.0), (1.0, 1.0)) - Box((-1.0, -1.0), (2.0, 2.0)), "empty"),
        (lambda: Disk((0.0, 0.0), 1.0) & Disk((5.0, 0.0), 1.0), "empty"),
        (lambda: Disk((0.0, 0.0), -1.0), "radius must be positive"),
        (lambda: Ball((0.0,), 1.0), "an interval is a Box"),
        (lambda: Box((0.0,), (1.0,)) | Disk((0.0, 0.0), 1.0), "dimension"),
        (lambda: SpaceTime(Disk((0.0, 0.0), 1.0), (1.0, 0.0)), "t1 > t0"),
    ],
)
def test_degenerate_shapes_are_refused(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_thin_domains_and_unknown_parts_are_refused():
    sliver = Polygon(((0, 0), (1, 0), (1, 1e-6), (0, 1e-6))) | Polygon(((0, 0), (1e-6, 0), (1e-6, 1), (0, 1)))
    with pytest.raises(ValueError, match="too thin"):
        sliver.sample_interior(10, 0)
    with pytest.raises(ValueError, match="no boundary part 'hole'; this domain has x-, x\\+, y-, y\\+"):
        Box((0.0, 0.0), (1.0, 1.0)).sample_boundary(10, 0, ("x", "y"), ("hole",))
