"""Hits to images: pixels against hits, labels, HDF5 layout, summaries and bad input."""

import json
import os

import awkward as ak
import h5py
import hdf5plugin  # noqa: F401  (the LZ4 / Zstd filters)
import numpy as np
import pytest
import uproot
from hit_files import CARRAYS_SIM, VECTORS_DATA, VECTORS_SIM, flat_hits, make_events, write_hit_file
from shared_files import needs_fixtures

from minerva_vertex import geometry, image_contract, images, splits
from minerva_vertex.images import pixels, summaries, writer
from minerva_vertex.rootio import InputFileError, InputSpec

MIP = 3.4  # MeV, the documented pixel unit


def reference_images(hits, event, n_channels=1):
    """One event's images by a plain loop over its hits, with geometry.plane_info."""
    out = {k: np.zeros((n_channels, 127, w), np.float64) for k, w in (("x", 50), ("u", 25), ("v", 25))}
    energy_time = {k: np.zeros((127, w)) for k, w in (("x", 50), ("u", 25), ("v", 25))}
    drawn = []
    fields = ("hit_module", "hit_plane", "hit_view", "hit_strip", "hit_energy") + (
        ("hit_time",) if n_channels == 2 else ()
    )
    for hit in zip(*(hits[name][event].to_list() for name in fields)):
        module, plane, view_in_file, strip, energy = hit[:5]
        if module > 50:
            continue
        view, column, _ = geometry.plane_info(module, plane)
        assert int(view) == view_in_file
        key = geometry.VIEW_NAMES[int(view)]
        out[key][0, strip, int(column)] += energy / MIP
        if n_channels == 2:
            time = hit[5]
            energy_time[key][strip, int(column)] += energy * time
            drawn.append((energy, time))
    if n_channels == 2:
        weights = np.array(drawn)
        t_event = (weights[:, 0] * weights[:, 1]).sum() / weights[:, 0].sum()
        for key in out:
            e = out[key][0] * MIP
            mean_t = np.divide(energy_time[key], e, out=np.zeros_like(e), where=e > 0)
            out[key][1] = np.where(e > 0, (mean_t - t_event) / 10.0, 0.0)
    return out


def convert(tmp_path, source, name="out", images_config=None, input_config=None):
    h5 = tmp_path / f"{name}.h5"
    summary = images.convert_file(
        source,
        h5,
        images.ImagesConfig.from_section(images_config),
        spec=InputSpec.from_section(input_config),
        sample=images.Sample("test"),
        summary_path=tmp_path / f"{name}.summary.json",
    )
    return h5, summary


@needs_fixtures
@pytest.mark.parametrize("source", [VECTORS_SIM, CARRAYS_SIM, VECTORS_DATA])
def test_fixture_pixels_match_their_hits(tmp_path, source):
    h5, summary = convert(tmp_path, source, images_config={"chunk_events": 64})
    hits = uproot.open(source)["minerva"].arrays(library="ak")
    with h5py.File(h5) as f:
        assert f["hits-x"].shape == (len(hits), 1, 127, 50)
        assert f["hits-u"].shape == f["hits-v"].shape == (len(hits), 1, 127, 25)
        for event in (0, 1, 63, 64, len(hits) - 1):  # across read chunks
            expected = reference_images(hits, event)
            for key in ("x", "u", "v"):
                np.testing.assert_allclose(f[f"hits-{key}"][event], expected[key], rtol=1e-5, atol=1e-6)
        # energy conserved per view, every event
        for code, key in zip(geometry.VIEWS, ("x", "u", "v")):
            per_event = ak.sum(hits["hit_energy"][hits["hit_view"] == code], axis=1).to_numpy()
            np.testing.assert_allclose(f[f"hits-{key}"][:].sum(axis=(1, 2, 3)) * MIP, per_event, rtol=1e-4)
        assert f.attrs["source_file"] == source.name
        assert f.attrs["geometry_version"] == geometry.GEOMETRY_VERSION
        assert f.attrs["energy_scale_mev"] == MIP and "3.4 MeV" in f.attrs["energy_normalisation"]
        assert f.attrs["n_channels"] == 1 and f.attrs["sample"] == "test"
        assert bool(f.attrs["has_truth"]) == (source != VECTORS_DATA)
        ids = image_contract.unpack_eventids(f["eventids"][:])
        for field in ("run", "subrun", "gate", "slice"):
            np.testing.assert_array_equal(ids[field], hits[field])
    assert summary["events_read"] == summary["events_written"] == len(hits)
    assert summary["hits_read"] == summary["hits_drawn"] == len(ak.flatten(hits["hit_module"]))


@needs_fixtures
@pytest.mark.parametrize("source", [VECTORS_SIM, CARRAYS_SIM])
def test_labels_follow_the_geometry(tmp_path, source):
    h5, summary = convert(tmp_path, source)
    truth = uproot.open(source)["minerva"].arrays(filter_name="mc_*", library="np")
    with h5py.File(h5) as f:
        z = truth["mc_vtx_z"]
        np.testing.assert_array_equal(f["zs"][:], z)
        np.testing.assert_array_equal(f["segments"][:], geometry.segment_of_z(z))
        np.testing.assert_array_equal(f["planecodes"][:], geometry.planecode_of_z(z))
        assert f["segments"].dtype == np.uint8 and f["planecodes"].dtype == np.uint16
        for name, values in truth.items():
            np.testing.assert_array_equal(f[f"gen_data/{name}"][:], values)
    assert sum(summary["segments"]) == len(z)


def test_segment_labels_at_known_z():
    # MINERVA.md: target windows first, then the target centres as thresholds.
    z = [4000.0, 4437.83, 4543.26, 4600.0, 4700.0, 4800.0, 5300.0, 5710.0, 5760.0, 5800.0, 6000.0]
    expected = [0, 1, 1, 6, 2, 7, 8, 9, 5, 5, 10]
    labels = writer.segment_labels(z)
    np.testing.assert_array_equal(labels["segments"], expected)
    assert labels["zs"].dtype == np.float32


@needs_fixtures
def test_data_file_has_no_labels(tmp_path):
    h5, summary = convert(tmp_path, VECTORS_DATA)
    with h5py.File(h5) as f:
        assert not {"segments", "planecodes", "zs", "gen_data"} & set(f)
        assert {"hits-x", "hits-u", "hits-v", "eventids", "split"} <= set(f)
    assert "segments" not in summary and summary["has_truth"] is False


@needs_fixtures
def test_time_channel(tmp_path):
    h5, _ = convert(tmp_path, VECTORS_SIM, images_config={"time_channel": True})
    hits = uproot.open(VECTORS_SIM)["minerva"].arrays(library="ak")
    with h5py.File(h5) as f:
        assert f["hits-x"].shape == (200, 2, 127, 50) and f.attrs["n_channels"] == 2
        for event in (0, 7, 199):
            expected = reference_images(hits, event, n_channels=2)
            for key in ("x", "u", "v"):
                np.testing.assert_allclose(f[f"hits-{key}"][event], expected[key], rtol=1e-4, atol=1e-4)


def test_eventid_packing():
    ids = writer.pack_eventids([9011, 1], [1, 9999], [1, 9999], [1, 99])
    np.testing.assert_array_equal(ids, np.array([90110001000101, 19999999999], dtype=np.uint64))
    assert image_contract.unpack_eventids(ids)["gate"].tolist() == [1, 9999]
    with pytest.raises(InputFileError, match=r"branch 'gate' entry 11: value 10000 does not fit"):
        writer.pack_eventids([1], [1], [10000], [1], entry_start=11)


def test_hits_to_images_takes_awkward_or_flat(tmp_path):
    events = make_events(20, seed=3)
    jagged = flat_hits(events)
    a = images.hits_to_images(jagged, n_channels=2)
    counts = ak.num(jagged["hit_module"])
    b = images.hits_to_images({k: ak.flatten(v).to_numpy() for k, v in jagged.items()}, 2, counts=counts)
    for key in ("x", "u", "v"):
        assert a[key].shape == (20, 2, 127, image_contract.VIEW_WIDTH[key])
        np.testing.assert_array_equal(a[key], b[key])
        for event in (0, 19):
            np.testing.assert_allclose(a[key][event], reference_images(jagged, event, 2)[key], rtol=1e-4, atol=1e-4)
    assert a["hits_read"] == a["hits_drawn"] == int(ak.sum(counts))


def test_scatterer_reuse_leaves_no_trace():
    events = make_events(64, seed=4)
    jagged = flat_hits(events)
    flat = {k: ak.flatten(v).to_numpy() for k, v in jagged.items()}
    counts = ak.num(jagged["hit_module"]).to_numpy()
    scatterer = images.ImageScatterer(64, n_channels=2)
    first, _ = scatterer.fill(flat, counts)
    first = {k: v.copy() for k, v in first.items()}
    scatterer.fill({k: v[:0] for k, v in flat.items()}, np.zeros(64, int))
    assert all(not v.any() for v in scatterer.buffers.values())
    again, _ = scatterer.fill(flat, counts)
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])


# --- counted policies ----------------------------------------------------------------------
def test_outside_window_hits_are_dropped_and_counted_and_empty_events_kept(tmp_path):
    events = make_events(6, seed=5)
    hits = {k: v.to_list() for k, v in events["hits"].items()}
    for name in hits:  # event 2: no hits at all; event 4: only hits downstream of the window
        hits[name][2] = []
        hits[name][4] = hits[name][4][:3]
    hits["module"][4] = [60, 61, 114]
    hits["module"][1][0] = 80  # one hit of event 1 outside
    events["hits"] = {k: ak.Array(v) for k, v in hits.items()}
    path = write_hit_file(tmp_path / "f.root", events)
    h5, summary = convert(tmp_path, path)
    assert summary["events_written"] == 6
    assert summary["events_without_hits"] == 1
    assert summary["events_without_drawn_hits"] == 2
    assert summary["hits_dropped"] == {"outside_window": 4}
    assert summary["hits_drawn"] == summary["hits_read"] - 4
    with h5py.File(h5) as f:
        assert not f["hits-x"][2].any() and not f["hits-u"][4].any()
        total = sum(f[f"hits-{k}"][1].sum() for k in "xuv") * MIP
        kept = np.array(hits["energy"][1][1:]).sum()
        assert total == pytest.approx(kept, rel=1e-5)


def test_empty_tree_policy(tmp_path):
    path = write_hit_file(tmp_path / "empty.root", make_events(0))
    with pytest.raises(InputFileError, match=r"empty\.root: TTree 'minerva' has no entries"):
        convert(tmp_path, path)
    assert not (tmp_path / "out.h5").exists()
    h5, summary = convert(tmp_path, path, input_config={"allow_empty_tree": True})
    with h5py.File(h5) as f:
        assert f["hits-x"].shape == (0, 1, 127, 50)
    assert summary["events_written"] == 0


# --- bad hits: errors naming file, branch and entry, and nothing left behind ----------------
def broken(field, event, value):
    def edit(hits):
        hits[field][event][1] = value

    return edit


BAD_HITS = [
    (broken("strip", 3, 127), r"branch 'hit_strip' entry 3 \(hit 1\): strip 127; expected 0-126"),
    (broken("strip", 5, -1), r"branch 'hit_strip' entry 5 \(hit 1\): strip -1"),
    (broken("module", 2, 4), r"branch 'hit_module' entry 2 \(hit 1\): module 4 plane \d is not in geometry"),
    (broken("module", 2, 500), r"branch 'hit_module' entry 2 \(hit 1\): module 500"),
    (broken("module", 2, -6), r"branch 'hit_module' entry 2 \(hit 1\): module -6"),
    (broken("plane", 4, 3), r"branch 'hit_plane' entry 4 \(hit 1\): plane 3; expected 1"),
    (broken("energy", 1, float("nan")), r"branch 'hit_energy' entry 1 \(hit 1\): energy nan MeV"),
    (broken("energy", 1, float("inf")), r"branch 'hit_energy' entry 1 \(hit 1\): energy inf MeV"),
    (
        broken("energy", 1, -0.5),
        r"branch 'hit_energy' entry 1 \(hit 1\): energy -0.5 MeV; expected a finite value >= 0",
    ),
    # Finite, but it would overflow the float32 pixels to inf (and score every event segment 10).
    (broken("energy", 6, 3e38), r"branch 'hit_energy' entry 6 \(hit 1\): energy 3e\+38 MeV; expected at most 100000 MeV"),
]


def test_the_largest_plausible_hit_energy_still_converts(tmp_path):
    events = make_events(4, seed=6)
    energy = events["hits"]["energy"].to_list()
    energy[2][0] = pixels.MAX_HIT_ENERGY_MEV
    events["hits"]["energy"] = ak.Array(energy)
    h5, _ = convert(tmp_path, write_hit_file(tmp_path / "hot.root", events))
    with h5py.File(h5) as f:
        assert np.isfinite(f["hits-x"][:]).all() and f["hits-x"][2].max() + f["hits-u"][2].max() + f["hits-v"][2].max() >= 1e5 / MIP


@pytest.mark.parametrize("edit, message", BAD_HITS)
def test_bad_hits_are_errors_and_leave_no_output(tmp_path, edit, message):
    events = make_events(8, seed=6)
    hits = {k: v.to_list() for k, v in events["hits"].items()}
    edit(hits)
    events["hits"] = {k: ak.Array(v) for k, v in hits.items()}
    path = write_hit_file(tmp_path / "bad.root", events)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InputFileError, match=r"bad\.root: " + message):
        images.convert_file(path, out / "bad.h5", summary_path=out / "bad.summary.json")
    assert os.listdir(out) == []


def test_view_disagreeing_with_geometry(tmp_path):
    events = make_events(8, seed=7)
    hits = {k: v.to_list() for k, v in events["hits"].items()}
    hits["view"][6][0] = 1 if hits["view"][6][0] != 1 else 2
    events["hits"] = {k: ak.Array(v) for k, v in hits.items()}
    path = write_hit_file(tmp_path / "bad.root", events)
    module, plane = hits["module"][6][0], hits["plane"][6][0]
    with pytest.raises(
        InputFileError,
        match=rf"branch 'hit_view' entry 6 \(hit 0\): view \d for module {module} plane {plane}; the geometry says",
    ):
        convert(tmp_path, path)
    assert not (tmp_path / "out.h5").exists()


def test_bad_time_only_matters_for_the_time_channel(tmp_path):
    events = make_events(8, seed=8)
    hits = {k: v.to_list() for k, v in events["hits"].items()}
    hits["time"][5][2] = float("nan")
    events["hits"] = {k: ak.Array(v) for k, v in hits.items()}
    path = write_hit_file(tmp_path / "bad.root", events)
    convert(tmp_path, path)
    with pytest.raises(InputFileError, match=r"branch 'hit_time' entry 5 \(hit 2\): time nan ns"):
        convert(tmp_path, path, name="timed", images_config={"time_channel": True})
    assert not (tmp_path / "timed.h5").exists()


def test_bad_error_in_a_later_chunk_names_the_file_entry(tmp_path):
    events = make_events(300, seed=9)
    hits = {k: v.to_list() for k, v in events["hits"].items()}
    hits["strip"][250][0] = 200
    events["hits"] = {k: ak.Array(v) for k, v in hits.items()}
    path = write_hit_file(tmp_path / "late.root", events)
    with pytest.raises(InputFileError, match=r"entry 250 \(hit 0\): strip 200"):
        convert(tmp_path, path, images_config={"chunk_events": 64})
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob(".*tmp"))


def test_non_finite_truth_vertex(tmp_path):
    events = make_events(8, seed=10)
    events["mc_vtx_z"][3] = np.nan
    path = write_hit_file(tmp_path / "bad.root", events)
    with pytest.raises(InputFileError, match=r"branch 'mc_vtx_z' entry 3: nan; expected a finite vertex"):
        convert(tmp_path, path)


@needs_fixtures
def test_existing_output_survives_a_failed_conversion(tmp_path):
    h5, _ = convert(tmp_path, CARRAYS_SIM)
    before = h5.read_bytes()
    (tmp_path / "broken.root").write_bytes(CARRAYS_SIM.read_bytes()[:5000])
    with pytest.raises(InputFileError):
        images.convert_file(tmp_path / "broken.root", h5)
    assert h5.read_bytes() == before


# --- HDF5 layout and compression -----------------------------------------------------------
@needs_fixtures
@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_direct_chunks_decode_like_the_filter_and_match_gzip(tmp_path, compression):
    fast, _ = convert(
        tmp_path, VECTORS_SIM, name="fast", images_config={"compression": compression, "time_channel": True}
    )
    slow, _ = convert(tmp_path, VECTORS_SIM, name="slow", images_config={"compression": "gzip", "time_channel": True})
    with h5py.File(fast) as a, h5py.File(slow) as b:
        assert a["hits-x"].chunks == (64, 2, 127, 50)
        for key in ("hits-x", "hits-u", "hits-v", "eventids", "split", "segments"):
            np.testing.assert_array_equal(a[key][:], b[key][:])
        assert a["hits-x"][:].any()


def test_lz4_encoder_round_trips_edge_cases(tmp_path):
    rng = np.random.default_rng(0)
    shape = (64, 1, 127, 25)
    cases = {"zeros": np.zeros(shape, np.float32), "dense": rng.random(shape, dtype=np.float32)}
    sparse = np.zeros(shape, np.float32)
    flat = sparse.reshape(-1)
    flat[[0, 2, 3, 5, 1000, 1001, flat.size - 2]] = [1, 2, 3, 4, 5, 6, 7]
    cases["sparse_edges"] = sparse
    with h5py.File(tmp_path / "lz4.h5", "w") as f:
        for name, block in cases.items():
            d = f.create_dataset(name, shape=shape, chunks=shape, dtype=np.float32, **hdf5plugin.LZ4())
            d.id.write_direct_chunk((0, 0, 0, 0), writer._encode_lz4(block))
            np.testing.assert_array_equal(d[()], block)
            by_filter = f.create_dataset(f"{name}_filter", data=block, chunks=shape, **hdf5plugin.LZ4())
            assert by_filter.id.read_direct_chunk((0, 0, 0, 0))[1] == writer._encode_lz4(block)


@needs_fixtures
def test_summaries_gather_per_sample(tmp_path):
    a, first = convert(tmp_path, VECTORS_SIM, name="a")
    b, second = convert(tmp_path, VECTORS_DATA, name="b")
    on_disk = json.loads((tmp_path / "a.summary.json").read_text())
    assert on_disk["events_read"] == 200 and on_disk["output"] == str(a)
    total = images.gather_summaries(
        [tmp_path / "a.summary.json", tmp_path / "b.summary.json"], tmp_path / "s.json", "mix", image_files=[a, b]
    )
    assert total["events_written"] == 300 and total["n_files"] == 2
    assert total["has_truth"] == "mixed"
    assert sum(total["split"].values()) == 300
    assert json.loads((tmp_path / "s.json").read_text()) == total


@needs_fixtures
def test_shared_event_ids_are_found_when_a_sample_is_gathered(tmp_path):
    from minerva_vertex.image_contract import DuplicateEventError

    copy = tmp_path / "again.root"
    copy.write_bytes(CARRAYS_SIM.read_bytes())  # one production listed under two names
    a, _ = convert(tmp_path, CARRAYS_SIM, name="a")
    b, _ = convert(tmp_path, copy, name="b")
    summaries = [tmp_path / "a.summary.json", tmp_path / "b.summary.json"]
    with pytest.raises(DuplicateEventError, match=r"event id \d+ \(run \d+.*\) appears in files .*a\.h5 and .*b\.h5"):
        images.gather_summaries(summaries, tmp_path / "s.json", "twice", image_files=[a, b])
    assert not (tmp_path / "s.json").exists()


@needs_fixtures
def test_split_fractions_are_checked(tmp_path):
    with pytest.raises(ValueError, match="images.splits.*sum to 1.1"):
        convert(tmp_path, VECTORS_SIM, images_config={"splits": {"train": 0.9, "validation": 0.1, "test": 0.1}})


@needs_fixtures
def test_split_is_stored_and_follows_the_event_ids(tmp_path):
    h5, summary = convert(
        tmp_path, VECTORS_SIM, images_config={"splits": {"train": 0.5, "validation": 0.25, "test": 0.25}}
    )
    with h5py.File(h5) as f:
        expected = splits.split_of(f["eventids"][:], {"train": 0.5, "validation": 0.25, "test": 0.25})
        np.testing.assert_array_equal(f["split"][:], expected)
        assert f["split"].dtype == np.uint8
    assert summary["split"] == {name: int((expected == code).sum()) for code, name in enumerate(splits.SPLIT_NAMES)}


def _simulation_api():
    try:
        from minerva_vertex import simulation
    except ImportError:
        return None
    needed = ("PhysicsModel", "generate", "write_root")
    return simulation if all(hasattr(simulation, name) for name in needed) else None


@pytest.mark.skipif(_simulation_api() is None, reason="minerva_vertex.simulation not available yet")
def test_simulated_file_converts_pixel_by_pixel(tmp_path):
    simulation = _simulation_api()
    model = simulation.PhysicsModel.from_config({})
    branches = simulation.generate(model, 50, 1)
    path = tmp_path / "sim.root"
    simulation.write_root(path, branches, tree="minerva")
    h5, summary = convert(tmp_path, path)
    hits = uproot.open(path)["minerva"].arrays(library="ak")
    assert summary["events_written"] == 50
    with h5py.File(h5) as f:
        for event in (0, 25, 49):
            expected = reference_images(hits, event)
            for key in ("x", "u", "v"):
                np.testing.assert_allclose(f[f"hits-{key}"][event], expected[key], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(f["segments"][:], geometry.segment_of_z(hits["mc_vtx_z"].to_numpy()))


# --- warnings and logs a user sees -----------------------------------------------------------
def test_a_file_with_every_hit_outside_the_window_is_an_error_unless_allowed(tmp_path, caplog):
    events = make_events(5, seed=8)
    events["hits"]["module"] = events["hits"]["module"] + 70  # a numbering off by 70 modules
    events["hits"]["module"] = ak.where(events["hits"]["module"] > 114, 114, events["hits"]["module"])
    path = write_hit_file(tmp_path / "shifted.root", events)
    with pytest.raises(InputFileError, match=r"shifted\.root: all \d+ hits lie outside the image window .*allow_no_hits_in_window"):
        convert(tmp_path, path)
    assert not list(tmp_path.glob("*.h5")) and not list(tmp_path.glob(".*tmp"))
    with caplog.at_level("WARNING", logger="minerva_vertex.images"):
        _, summary = convert(tmp_path, path, images_config={"allow_no_hits_in_window": True})
    assert summary["hits_drawn"] == 0
    assert "shifted.root: all" in caplog.text and "outside the image window" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="minerva_vertex.images"):
        convert(tmp_path / "good", write_hit_file(tmp_path / "good.root", make_events(5, seed=8)))
    assert caplog.text == ""


def test_true_vertices_outside_the_window_are_counted_and_warned_about(tmp_path, caplog):
    events = make_events(6, seed=9)
    events["mc_vtx_z"][[1, 4]] = [20_000.0, -3_000.0]  # far downstream and far upstream
    events["mc_vtx_z"][2] = summaries.WINDOW_Z_MM[1] + 10.0  # just past the last plane: fine
    path = write_hit_file(tmp_path / "far.root", events)
    with caplog.at_level("WARNING", logger="minerva_vertex.images"):
        _, summary = convert(tmp_path, path)
    assert summary["vertices_outside_window"] == 2
    assert "far.root: 2 true vertices" in caplog.text
    total = summaries.sample_summary([summary, summary])
    assert total["vertices_outside_window"] == 4


CONVERSION_SCRIPT = """
import sys
from minerva_vertex import images
from minerva_vertex.job_log import job_log
with job_log(sys.argv[3]):
    images.convert_file(sys.argv[1], sys.argv[2], progress=True)
"""


WARNING_SCRIPT = """
import sys
from minerva_vertex import images
from minerva_vertex.job_log import job_log
with job_log(sys.argv[3]):
    images.convert_file(sys.argv[1], sys.argv[2], summary_path=sys.argv[2] + ".json", progress=True)
"""


def test_warnings_reach_the_console_in_one_line_each_and_the_log(tmp_path):
    import subprocess
    import sys

    events = make_events(6, seed=4)
    events["mc_vtx_z"][1] = 1e9  # labelled segment 10, unseen in the images
    modules = events["hits"]["module"].to_list()
    for event in range(4):  # most hits downstream of the window
        modules[event] = [60] * len(modules[event])
    events["hits"]["module"] = ak.Array(modules)
    path = write_hit_file(tmp_path / "odd.root", events)
    log = tmp_path / "logs" / "images.log"
    run = subprocess.run(
        [sys.executable, "-c", WARNING_SCRIPT, str(path), str(tmp_path / "odd.h5"), str(log)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, run.stderr
    hits, vertices = lines
    assert hits.startswith("Warning: ") and "odd.root" in hits and "% of the hits" in hits
    assert vertices.startswith("Warning: ") and "odd.root" in vertices and "1 true vertices of 6 (16.7 %)" in vertices
    text = log.read_text()
    assert "% of the hits" in text and "1 true vertices of 6" in text


def test_a_conversion_error_reaches_the_user_in_one_line_and_the_log_whole(tmp_path):
    import subprocess
    import sys

    events = make_events(4, seed=3)
    energy = events["hits"]["energy"].to_list()
    energy[2][1] = float("nan")
    events["hits"]["energy"] = ak.Array(energy)
    path = write_hit_file(tmp_path / "bad.root", events)
    log, out = tmp_path / "logs" / "images.log", tmp_path / "images" / "bad.h5"
    run = subprocess.run([sys.executable, "-c", CONVERSION_SCRIPT, str(path), str(out), str(log)], capture_output=True, text=True)
    assert run.returncode == 1
    assert "lost sys.stderr" not in run.stderr and "Traceback" not in run.stderr
    (line,) = [l for l in run.stderr.splitlines() if l.startswith("Error:")]
    assert "bad.root" in line and "hit_energy" in line and "entry 2" in line
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "InputFileError" in text
    assert not out.exists() and not list(out.parent.glob(".*tmp"))
