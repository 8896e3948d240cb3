"""The toy geometry against the reference facts (MINERVA.md) and reference/planes.csv."""

import csv

import numpy as np
import pytest

from minerva_vertex import geometry as geo
from shared_files import REFERENCE, needs_reference


# MINERVA.md, "Segments": windows (checked first, edges inclusive) and thresholds.
WINDOWS = [(1, 4437.83, 4543.26), (2, 4658.90, 4764.33), (3, 4879.98, 5029.62), (4, 5601.52, 5706.95),
           (5, 5734.17, 5857.60)]
THRESHOLDS = [(0, 4481.21), (6, 4702.29), (7, 4923.36), (8, 5644.91), (9, 5777.55)]
EPS = 1e-3


def reference_planes():
    with open(REFERENCE / "planes.csv") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@pytest.mark.parametrize("segment,low,high", WINDOWS)
def test_segment_windows_edges_are_inclusive(segment, low, high):
    assert geo.segment_of_z([low, high, 0.5 * (low + high)]).tolist() == [segment] * 3


def test_segment_just_outside_windows():
    below = [geo.segment_of_z(low - EPS) for _, low, _ in WINDOWS]
    above = [geo.segment_of_z(high + EPS) for _, _, high in WINDOWS]
    # Below a window lies the gap upstream of that target; above it, the gap downstream.
    assert below == [0, 6, 7, 8, 9]
    assert above == [6, 7, 8, 9, 10]


@pytest.mark.parametrize("segment,threshold", THRESHOLDS)
def test_thresholds_are_target_centres_inside_windows(segment, threshold):
    # Each threshold lies inside its target's window, so the window wins on both sides.
    window = next(w for w in WINDOWS if w[1] <= threshold <= w[2])
    assert geo.segment_of_z([threshold - EPS, threshold, threshold + EPS]).tolist() == [window[0]] * 3


def test_segments_far_away_and_constants():
    assert geo.segment_of_z([-1e6, 0.0, 4000.0]).tolist() == [0, 0, 0]
    assert geo.segment_of_z([6000.0, 1e6]).tolist() == [10, 10]
    assert geo.SEGMENT_WINDOWS == tuple(WINDOWS)
    assert geo.SEGMENT_THRESHOLDS == tuple(THRESHOLDS)
    assert geo.N_SEGMENTS == 11


@needs_reference
def test_every_plane_matches_reference_csv():
    rows = reference_planes()
    assert len(rows) == len(geo.PLANES) == 100
    module = np.array([int(r["module"]) for r in rows])
    plane = np.array([int(r["plane"]) for r in rows])
    view, column, z = geo.plane_info(module, plane)
    assert view.tolist() == [geo.VIEW_CODES[r["view"]] for r in rows]
    assert column.tolist() == [int(r["image_column"]) for r in rows]
    np.testing.assert_allclose(z, [float(r["z_mm"]) for r in rows], atol=1e-6)
    assert geo.plane_row(module, plane).tolist() == list(range(100))
    for view_code, width in geo.N_COLUMNS.items():
        assert sorted(column[view == view_code].tolist()) == list(range(width))


def test_unknown_module_plane_pairs():
    # Module 4 is a target slot; plane 0 and 3 do not exist; modules beyond the window.
    assert geo.plane_row([4, 0, 0, -6, 51, 1000], [1, 0, 3, 1, 1, 2]).tolist() == [-1] * 6
    with pytest.raises(ValueError, match="module 4 plane 1"):
        geo.plane_info([0, 4], [1, 1])


def test_planes_are_z_ordered_and_nearest_plane():
    assert np.all(np.diff(geo.PLANES.z) > 0)
    assert geo.nearest_plane_row(geo.PLANES.z).tolist() == list(range(100))


def test_fiducial_hexagon_edges():
    a = geo.FIDUCIAL_APOTHEM_MM
    corner_y = a * 2 / np.sqrt(3)
    inside = geo.in_fiducial([0, a, -a, 0, 0, a * 0.999], [0, 0, 0, corner_y * 0.999, -corner_y * 0.999, 0])
    assert inside.all()
    outside = geo.in_fiducial([a + EPS, -a - EPS, 0, 0], [0, 0, corner_y + EPS, -corner_y - EPS])
    assert not outside.any()
    # A slanted edge: the midpoint of the edge between the corners (a, a/sqrt3) and (0, 2a/sqrt3).
    mid = np.array([a / 2, a / (2 * np.sqrt(3)) + a / np.sqrt(3)])
    normal = np.array([0.5, np.sqrt(3) / 2])
    assert geo.in_fiducial(*(mid - 0.01 * normal)) and not geo.in_fiducial(*(mid + 0.01 * normal))


def test_passive_volume_and_material_at():
    t1 = geo.TARGET_CENTRES_MM[1]
    fe, pb = geo.passive_volume_at([0.0, 300.0], [0.0, 0.0], [t1, t1])
    assert geo.PASSIVE_VOLUMES[fe].material == "Fe" and geo.PASSIVE_VOLUMES[pb].material == "Pb"
    assert geo.PASSIVE_VOLUMES[fe].target == 1
    # Target 3 sectors by azimuth: carbon at 90 deg, iron at 240 deg, lead at 330 deg.
    t3 = geo.TARGET_CENTRES_MM[3]
    angles = np.deg2rad([90.0, 240.0, 330.0])
    index = geo.passive_volume_at(300 * np.cos(angles), 300 * np.sin(angles), np.full(3, t3))
    assert [geo.PASSIVE_VOLUMES[i].material for i in index] == ["C", "Fe", "Pb"]
    assert geo.material_at(0, 0, 5300.0) == "water"
    assert geo.material_at(0, 0, geo.PLANES.z[10]) == "scintillator"
    gap = 0.5 * (geo.PLANES.z[10] + geo.PLANES.z[11])
    assert geo.material_at(0, 0, gap) == "gap"
    assert geo.passive_volume_at(0, 0, gap) == -1
    # Thickness and density from the reference: T4 lead 8 mm, 11.35 g/cm3.
    t4 = next(v for v in geo.PASSIVE_VOLUMES if v.target == 4)
    assert t4.thickness_mm == pytest.approx(8.0) and t4.areal_density_g_cm2 == pytest.approx(9.08)


def _overlapping_planes(volume):
    half = geo.PLANE_THICKNESS_MM / 2
    overlap = (geo.PLANES.z + half > volume.z_min) & (geo.PLANES.z - half < volume.z_max)
    return list(zip(geo.PLANES.module[overlap].tolist(), geo.PLANES.plane[overlap].tolist()))


@pytest.mark.parametrize("volume", geo.PASSIVE_VOLUMES, ids=str)
def test_no_scintillator_plane_overlaps_passive_material(volume):
    assert _overlapping_planes(volume) == []


def test_target3_carbon_shares_upstream_face_of_iron_and_lead():
    t3 = {v.material: v for v in geo.PASSIVE_VOLUMES if v.target == 3}
    assert t3["C"].z_min == pytest.approx(t3["Fe"].z_min) == pytest.approx(t3["Pb"].z_min)
    assert t3["C"].thickness_mm == pytest.approx(76.3)


def test_planecode_monotonic():
    z = np.linspace(geo.PLANES.z[0] - 100, geo.PLANES.z[-1] + 100, 20000)
    codes = geo.planecode_of_z(z)
    assert np.all(np.diff(codes) >= 0)
    assert codes[0] == 0 and codes[-1] == geo.N_PLANECODES - 1
    assert geo.N_PLANECODES == 100 + 6  # planes, five targets and the water target


def test_strip_coordinates_round_trip():
    strips = np.arange(geo.N_STRIPS)
    np.testing.assert_allclose(geo.strip_coordinate(geo.strip_position(strips)), strips)
    assert geo.strip_position(63) == 0.0
    # U and V measure the coordinate rotated by +-60 degrees.
    assert geo.transverse_coordinate(geo.VIEW_U, 0.0, 1.0) == pytest.approx(np.sin(np.deg2rad(60)))
    assert geo.transverse_coordinate(geo.VIEW_V, 0.0, 1.0) == pytest.approx(-np.sin(np.deg2rad(60)))
