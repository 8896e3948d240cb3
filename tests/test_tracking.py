"""Track-based vertex: exact geometry on drawn tracks, competence on simulated events, files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml

from minerva_vertex import geometry as geo
from minerva_vertex import image_contract, images, simulation, tracking, tracking_files

REPO = Path(__file__).resolve().parents[1]
SCALE_MEV = images.ENERGY_SCALE_MEV
MIP_MEV = 3.4  # a minimum-ionising particle across one plane (MINERVA.md)


# --- drawn events -----------------------------------------------------------------------
def blank_images(n_events: int) -> dict:
    return {key: np.zeros((n_events, 1, geo.N_STRIPS, image_contract.VIEW_WIDTH[key]), np.float32) for key in image_contract.VIEW_KEYS}


def draw_track(imgs: dict, event: int, start, direction, z_stop: float = np.inf, energy_mev: float = MIP_MEV) -> None:
    """A straight track from ``start`` (x, y, z mm) along ``direction`` (dx/dz, dy/dz): one hit
    in every plane it crosses, at the strip under it, in the images' energy unit."""
    x0, y0, z0 = start
    for view in geo.VIEWS:
        rows = np.flatnonzero((geo.PLANES.view == view) & (geo.PLANES.z >= z0) & (geo.PLANES.z <= z_stop))
        z = geo.PLANES.z[rows]
        x, y = x0 + direction[0] * (z - z0), y0 + direction[1] * (z - z0)
        strip = np.rint(geo.strip_coordinate(geo.transverse_coordinate(view, x, y))).astype(int)
        inside = (strip >= 0) & (strip < geo.N_STRIPS)
        key = geo.VIEW_NAMES[view]
        imgs[key][event, 0, strip[inside], geo.PLANES.column[rows][inside]] += energy_mev / SCALE_MEV


def first_plane_after(z: float) -> float:
    return geo.PLANES.z[np.searchsorted(geo.PLANES.z, z)]


@pytest.mark.parametrize(
    ("vertex", "direction"),
    [
        ((0.0, 0.0, 4481.21), (0.0, 0.0)),  # target 1, along the beam
        ((300.0, -200.0, 4702.29), (0.10, -0.05)),  # target 2
        ((-400.0, 350.0, 5300.0), (-0.15, 0.20)),  # water target
        ((150.0, 500.0, 6300.0), (0.25, -0.30)),  # tracker, steep
    ],
)
def test_single_drawn_track_gives_its_upstream_end(vertex, direction):
    imgs = blank_images(1)
    draw_track(imgs, 0, vertex, direction)
    params = tracking.TrackingParams.from_section({})
    out = tracking.reconstruct(imgs, SCALE_MEV, params)
    expected_z = first_plane_after(vertex[2]) - params.upstream_offset_mm
    assert out["quality"][0] == tracking.QUALITY_THREE_VIEWS
    assert out["n_tracks"][0] == 1
    assert out["vtx_z"][0] == pytest.approx(expected_z, abs=0.01)
    assert out["segment"][0] == geo.segment_of_z(vertex[2])
    # x and y at the vertex z: within a strip pitch of the drawn line there.
    dz = out["vtx_z"][0] - vertex[2]
    assert out["vtx_x"][0] == pytest.approx(vertex[0] + direction[0] * dz, abs=geo.STRIP_PITCH_MM)
    assert out["vtx_y"][0] == pytest.approx(vertex[1] + direction[1] * dz, abs=geo.STRIP_PITCH_MM)


def test_events_without_tracks_have_no_vertex_and_are_counted():
    imgs = blank_images(3)
    imgs["x"][1, 0, 60, 10] = 2.0  # one isolated hit is no track
    draw_track(imgs, 2, (0.0, 0.0, 5000.0), (0.0, 0.0))
    out = tracking.reconstruct(imgs, SCALE_MEV)
    np.testing.assert_array_equal(out["quality"], [0, 0, tracking.QUALITY_THREE_VIEWS])
    np.testing.assert_array_equal(out["segment"][:2], [-1, -1])
    assert np.isnan(out["vtx_z"][:2]).all() and np.isnan(out["vtx_x"][:2]).all()
    assert tracking_files.summarise({**out})["events_without_vertex"] == 2


def test_most_penetrating_track_is_the_muon_and_a_vertex_track_moves_the_vertex_upstream():
    imgs = blank_images(1)
    # Muon: from its first visible plane at 5500 mm to the end of the window.
    draw_track(imgs, 0, (100.0, 100.0, 5470.0), (0.05, 0.02))
    # A short hadron track from the true vertex a module upstream, on the muon's line.
    vertex_z = 5420.0
    hadron_start = (100.0 + 0.05 * (vertex_z - 5470.0), 100.0 + 0.02 * (vertex_z - 5470.0), vertex_z)
    draw_track(imgs, 0, hadron_start, (-0.6, 0.4), z_stop=5700.0)
    out = tracking.reconstruct(imgs, SCALE_MEV)
    assert out["n_tracks"][0] == 2
    assert out["vtx_z"][0] < first_plane_after(5470.0)
    assert out["vtx_z"][0] == pytest.approx(first_plane_after(vertex_z) - tracking.TrackingParams.from_section({}).upstream_offset_mm)


def test_chunking_does_not_change_the_result():
    rng = np.random.default_rng(3)
    imgs = blank_images(40)
    for event in range(40):
        draw_track(imgs, event, (*rng.uniform(-500, 500, 2), rng.uniform(4300, 6900)), rng.uniform(-0.3, 0.3, 2))
    whole = tracking.reconstruct(imgs, SCALE_MEV, tracking.TrackingParams.from_section({"chunk_events": 64}))
    chunked = tracking.reconstruct(imgs, SCALE_MEV, tracking.TrackingParams.from_section({"chunk_events": 7}))
    for name in tracking.OUTPUT_FIELDS:
        np.testing.assert_array_equal(whole[name], chunked[name])


def test_wrong_image_shape_is_an_error_naming_the_view():
    imgs = blank_images(2)
    imgs["u"] = imgs["u"][:, :, :, :20]
    with pytest.raises(ValueError, match="image 'u'"):
        tracking.reconstruct(imgs, SCALE_MEV)


# --- simulated events -------------------------------------------------------------------
def simulated(n_events: int, seed: int, **knobs) -> tuple[dict, dict]:
    model = simulation.PhysicsModel.from_config(knobs)
    branches = simulation.generate(model, n_events, seed)
    hits = {name: branches[name] for name in rootio_hit_branches()}
    imgs = images.hits_to_images(hits, n_channels=1)
    truth = {name: np.asarray(branches[name]) for name in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z")}
    return {key: imgs[key] for key in image_contract.VIEW_KEYS}, truth


def rootio_hit_branches():
    return ("hit_module", "hit_plane", "hit_view", "hit_strip", "hit_energy", "hit_time")


def segment_rates(true_segment, reco_segment) -> tuple[float, np.ndarray, np.ndarray]:
    """Accuracy over all events (no vertex counts as wrong), per-segment efficiency, purity."""
    accuracy = float(np.mean(reco_segment == true_segment))
    efficiency = np.array(
        [
            np.mean(reco_segment[true_segment == s] == s) if np.any(true_segment == s) else np.nan
            for s in range(geo.N_SEGMENTS)
        ]
    )
    purity = np.array(
        [
            np.mean(true_segment[reco_segment == s] == s) if np.any(reco_segment == s) else np.nan
            for s in range(geo.N_SEGMENTS)
        ]
    )
    return accuracy, efficiency, purity


# A track needs a few planes: a vertex in the last planes of the window leaves none.
TRACKABLE_BEFORE_MM = geo.PLANES.z[-1] - 100.0


def test_single_muon_events_right_segment_and_z_within_two_planes():
    imgs, truth = simulated(3000, seed=101, muon_only=True)
    out = tracking.reconstruct(imgs, SCALE_MEV)
    true_z = truth["mc_vtx_z"]
    true_segment = geo.segment_of_z(true_z)
    accuracy, efficiency, purity = segment_rates(true_segment, out["segment"])
    trackable = true_z < TRACKABLE_BEFORE_MM
    accuracy_trackable = float(np.mean(out["segment"][trackable] == true_segment[trackable]))
    found = out["quality"] != tracking.QUALITY_NO_TRACK
    plane_error = np.abs(geo.nearest_plane_row(out["vtx_z"][found]) - geo.nearest_plane_row(true_z[found]))
    print(
        f"\nsingle muons: segment accuracy {accuracy:.3f} (all), {accuracy_trackable:.3f} (vertex 100 mm or more "
        f"before the last plane), no vertex {np.mean(~found):.3f}, z within two planes {np.mean(plane_error <= 2):.3f}"
    )
    print("efficiency", np.round(efficiency, 3), "\npurity    ", np.round(purity, 3))
    assert accuracy_trackable >= 0.95
    assert accuracy >= 0.93  # all events, those the muon leaves at once included
    assert np.mean(plane_error <= 2) >= 0.95
    # Most vertices without a track are those near the end of the window.
    assert np.mean(~found[trackable]) < 0.02


def test_events_with_hadronic_showers_are_measured():
    imgs, truth = simulated(600, seed=202)
    out = tracking.reconstruct(imgs, SCALE_MEV)
    true_segment = geo.segment_of_z(truth["mc_vtx_z"])
    accuracy, efficiency, purity = segment_rates(true_segment, out["segment"])
    no_vertex = float(np.mean(out["quality"] == tracking.QUALITY_NO_TRACK))
    print(f"\nwith hadrons: segment accuracy {accuracy:.3f}, no vertex {no_vertex:.3f}")
    print("efficiency", np.round(efficiency, 3), "\npurity    ", np.round(purity, 3))
    rates = np.concatenate([[accuracy, no_vertex], efficiency[np.isfinite(efficiency)], purity[np.isfinite(purity)]])
    assert np.all((rates >= 0) & (rates <= 1))
    # Loose sanity bounds: far better than guessing the largest segment, worse than muons alone.
    assert accuracy > 0.7
    assert no_vertex < 0.1


# --- files ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def image_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tracking")
    root = simulation.simulate_file(simulation.PhysicsModel.nominal(), 150, 303, 0, folder / "part000.root")
    h5_path = folder / "part000.h5"
    images.convert_file(root, h5_path, sample=images.Sample("toy"))
    return h5_path


def test_output_file_contract(image_file, tmp_path):
    out_path = tmp_path / "tracking" / "part000.h5"
    arrays = tracking_files.track_vertex_file(image_file, out_path)
    with h5py.File(image_file, "r") as h5:
        test = h5["split"][:] == image_contract.TEST_SPLIT
        eventids = h5["eventids"][:][test]
    assert 0 < len(eventids) < len(test)  # only the test split is tracked
    with h5py.File(out_path, "r") as h5:
        for name, dtype in tracking_files.DATASET_DTYPES.items():
            assert h5[name].dtype == dtype and h5[name].shape == (len(eventids),), name
        np.testing.assert_array_equal(h5["eventids"][:], eventids)
        assert json.loads(h5.attrs["quality_codes"])["0"] == tracking.QUALITY_CODES[0]
        assert h5.attrs["sample"] == "toy"
        assert h5.attrs["n_events"] == len(eventids) and h5.attrs["split"] == image_contract.TEST_SPLIT
        no_vertex = h5["quality"][:] == tracking.QUALITY_NO_TRACK
        assert h5.attrs["n_no_vertex"] == no_vertex.sum()
        np.testing.assert_array_equal(h5["segment"][:][no_vertex], -1)
        assert np.isnan(h5["vtx_z"][:][no_vertex]).all() and np.isfinite(h5["vtx_z"][:][~no_vertex]).all()
        np.testing.assert_array_equal(h5["segment"][:][~no_vertex], geo.segment_of_z(h5["vtx_z"][:][~no_vertex]))
    np.testing.assert_array_equal(arrays["eventids"], eventids)
    assert not list(out_path.parent.glob(".*tmp*"))


@pytest.mark.parametrize("chunk_events", [3, 64, 512])
def test_test_events_get_the_vertices_of_the_whole_file(image_file, tmp_path, chunk_events):
    """Reading only the test rows, in blocks of any size, changes no event's vertex."""
    with h5py.File(image_file, "r") as h5:
        whole = {key: h5[name][:, :1] for key, name in image_contract.DATASET_OF_VIEW.items()}
        test = h5["split"][:] == image_contract.TEST_SPLIT
        scale = float(h5.attrs["energy_scale_mev"])
    params = tracking.TrackingParams.from_section({"chunk_events": chunk_events})
    everything = tracking.reconstruct(whole, scale, params)
    arrays = tracking_files.track_vertex_file(image_file, tmp_path / "out.h5", params)
    for name in tracking.OUTPUT_FIELDS:
        np.testing.assert_array_equal(arrays[name], everything[name][test], err_msg=name)


def test_gathered_sample_file_and_summary(image_file, tmp_path):
    parts = [tmp_path / "a.h5", tmp_path / "b.h5"]
    for part in parts:
        tracking_files.track_vertex_file(image_file, part)
    summary = tracking_files.gather_vertices(parts, tmp_path / "toy.h5", tmp_path / "toy.summary.json")
    gathered = tracking_files.read_vertices(tmp_path / "toy.h5")
    single = tracking_files.read_vertices(parts[0])
    n = len(single["quality"])
    assert len(gathered["quality"]) == 2 * n
    np.testing.assert_array_equal(gathered["part"], np.repeat([0, 1], n))
    np.testing.assert_array_equal(gathered["vtx_z"][n:], single["vtx_z"])
    assert json.loads((tmp_path / "toy.summary.json").read_text()) == summary
    assert summary["events"] == 2 * n
    assert summary["events_without_vertex"] == 2 * int(np.sum(single["quality"] == 0))
    assert sum(summary["quality"].values()) == 2 * n


def test_image_file_without_energy_scale_is_an_error_naming_it(image_file, tmp_path):
    broken = tmp_path / "broken.h5"
    broken.write_bytes(image_file.read_bytes())
    with h5py.File(broken, "a") as h5:
        del h5.attrs["energy_scale_mev"]
    with pytest.raises(tracking_files.TrackingFileError, match="broken.h5.*energy_scale_mev"):
        tracking_files.track_vertex_file(broken, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()


def test_missing_dataset_is_an_error_naming_it(tmp_path):
    path = tmp_path / "not_images.h5"
    with h5py.File(path, "w") as h5:
        h5["eventids"] = np.arange(3, dtype=np.uint64)
    with pytest.raises(tracking_files.TrackingFileError, match="not_images.h5.*hits-x"):
        tracking_files.track_vertex_file(path, tmp_path / "out.h5")


# --- configuration ----------------------------------------------------------------------
def test_config_section_schema_and_defaults_agree():
    schema = yaml.safe_load((REPO / "workflow/schemas/tracking.schema.yaml").read_text())["$defs"]["section"]["properties"]
    defaults = tracking.TrackingParams.from_section({}).as_dict()
    assert set(schema) == set(defaults)
    assert {key: spec["default"] for key, spec in schema.items()} == defaults
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())["tracking"]
    assert tracking.TrackingParams.from_section(config) == tracking.TrackingParams.from_section({})


def test_unknown_config_key_is_an_error_naming_it():
    with pytest.raises(ValueError, match="tracking.*hough_bins"):
        tracking.TrackingParams.from_section({"hough_bins": 3})
