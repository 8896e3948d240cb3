"""The toy simulation: the file contract read back with uproot, determinism, physics sanity."""

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from minerva_vertex import geometry as geo
from minerva_vertex.simulation import BRANCHES, CHUNK_EVENTS, PhysicsModel, generate, simulate_file, write_root
from minerva_vertex.simulation import interactions, particles, response
from minerva_vertex.simulation.materials import STACK

INT_BRANCHES = {"run", "subrun", "gate", "slice", "hit_module", "hit_plane", "hit_view", "hit_strip",
                "mc_targetZ", "mc_intType"}
N_EVENTS = 1200


def knobs_model(**knobs):
    """The nominal model with some knobs changed (validated like a config entry)."""
    return PhysicsModel.from_config(knobs)


@pytest.fixture(scope="module")
def nominal_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "part001.root"
    simulate_file(PhysicsModel.nominal(), N_EVENTS, seed=7, part_index=1, path=path)
    return path


@pytest.fixture(scope="module")
def events(nominal_file):
    with uproot.open(nominal_file) as f:
        return f["minerva"].arrays(library="ak")


def test_contract_branch_names_and_types(nominal_file):
    with uproot.open(nominal_file) as f:
        assert [k.split(";")[0] for k in f.keys()] == ["minerva"]
        tree = f["minerva"]
        assert f.classname_of("minerva") == "TTree"  # mktree, not RNTuple
        assert f.file.compression.name in ("ZSTD", "LZ4")
        assert tree.num_entries == N_EVENTS
        for name in BRANCHES:
            dtype = tree[name].interpretation.content.from_dtype if name.startswith("hit_") \
                else tree[name].interpretation.from_dtype
            assert dtype.kind == ("i" if name in INT_BRANCHES else "f") and dtype.itemsize == 4, name


def test_value_ranges(events):
    module, plane = ak.flatten(events.hit_module).to_numpy(), ak.flatten(events.hit_plane).to_numpy()
    rows = geo.plane_row(module, plane)
    assert (rows >= 0).all()  # hits only in planes of the geometry
    assert (ak.flatten(events.hit_view).to_numpy() == geo.PLANES.view[rows]).all()
    strips = ak.flatten(events.hit_strip).to_numpy()
    assert strips.min() >= 0 and strips.max() <= geo.N_STRIPS - 1
    energy = ak.flatten(events.hit_energy).to_numpy()
    assert energy.min() >= PhysicsModel.nominal().threshold_mev and np.isfinite(energy).all()
    assert np.isfinite(ak.flatten(events.hit_time).to_numpy()).all()
    assert set(np.unique(events.mc_targetZ)) <= {1, 6, 8, 26, 82}
    assert set(np.unique(events.mc_intType)) == {1, 2, 3, 4}
    assert geo.in_fiducial(np.asarray(events.mc_vtx_x), np.asarray(events.mc_vtx_y)).all()
    z = events.mc_vtx_z.to_numpy()
    half = geo.PLANE_THICKNESS_MM / 2
    assert z.min() >= geo.PLANES.z[0] - half and z.max() <= geo.PLANES.z[-1] + half
    assert (np.asarray(events.mc_w) >= 900).all() and (np.asarray(events.mc_Q2) >= 0).all()
    assert (np.asarray(events.mc_incomingE) > 0).all()
    # Each strip at most once per event.
    key = np.repeat(np.arange(N_EVENTS), ak.num(events.hit_strip)) * 100_000 + rows * 127 + strips
    assert len(np.unique(key)) == len(key)


def test_event_ids(events):
    assert set(np.asarray(events.run)) == {7} and set(np.asarray(events.subrun)) == {1}
    assert set(np.asarray(events.slice)) == {1}
    assert events.gate.to_numpy().tolist() == list(range(1, N_EVENTS + 1))


def test_struck_nucleus_matches_material(events):
    index = geo.passive_volume_at(*(np.asarray(events[k]) for k in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z")))
    material = np.array([v.material for v in geo.PASSIVE_VOLUMES] + ["none"])[index]
    target = events.mc_targetZ.to_numpy()
    assert (target[material == "Pb"] == 82).all() and (target[material == "Fe"] == 26).all()
    assert set(target[material == "water"]) <= {1, 8}
    assert (material == "Pb").sum() > 20 and (material == "water").sum() > 20


def test_deterministic_and_independent_of_splitting():
    model = PhysicsModel.nominal()
    first = generate(model, 300, seed=3, stream=2)
    again = generate(model, 300, seed=3, stream=2)
    for name in BRANCHES:
        assert ak.all(ak.ravel(first[name] == again[name])), name
    # Any slice of the stream can be made on its own, across chunk boundaries.
    start = CHUNK_EVENTS - 50
    whole = generate(model, start + 100, seed=3, stream=2)
    part = generate(model, 100, seed=3, first_event=start, stream=2)
    for name in BRANCHES:
        assert ak.all(ak.ravel(whole[name][start:] == part[name])), name
    other = generate(model, 300, seed=4, stream=2)
    assert not np.array_equal(other["mc_vtx_z"], first["mc_vtx_z"])


def test_simulate_file_equals_generate(nominal_file, events):
    expected = generate(PhysicsModel.nominal(), 50, seed=7, stream=1)
    for name in BRANCHES:
        assert ak.all(ak.ravel(events[name][:50] == expected[name])), name


def _per_plane_energy(hits: response.Hits) -> np.ndarray:
    total = np.bincount(hits.event * len(geo.PLANES) + hits.plane_row, weights=hits.energy)
    return total[total > 0]


def _straight_muons(n, kinetic=3000.0, z0=4200.0, seed=0, model=None):
    rng = np.random.default_rng(seed)
    pos = np.column_stack([rng.uniform(-300, 300, n), rng.uniform(-300, 300, n), np.full(n, z0)])
    muons = interactions.Particles(np.arange(n), np.zeros(n, np.int64), np.full(n, kinetic), pos,
                                   np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros(n), np.zeros(n, np.int64))
    model = model or knobs_model(noise_hits_per_event=0)
    deposits = particles.propagate(rng, muons)
    return response.respond(rng, deposits, n, np.zeros(n), model, response.dead_channel_map(0, 0))


def test_muon_energy_per_plane_at_normal_incidence():
    per_plane = _per_plane_energy(_straight_muons(200))
    assert len(per_plane) == 200 * len(geo.PLANES)  # a through-going muon lights every plane
    counts, edges = np.histogram(per_plane, bins=np.arange(0, 10, 0.4))
    mode = edges[np.argmax(counts)] + 0.2
    assert 2.9 < mode < 3.9  # MINERVA.md: about 3.4 MeV at normal incidence
    assert 3.1 < np.median(per_plane) < 4.0
    assert np.percentile(per_plane, 95) > 1.3 * np.median(per_plane)  # Landau tail


def test_no_energy_in_passive_material():
    # Every layer that yields deposits is a scintillator plane, and no plane sits in passive material.
    passive = STACK.plane_row < 0
    planes = ~passive
    for lo, hi in zip(STACK.z_lo[passive], STACK.z_hi[passive]):
        assert not ((STACK.z_hi[planes] > lo) & (STACK.z_lo[planes] < hi)).any()
    branches = generate(PhysicsModel.nominal(), 300, seed=5)
    rows = geo.plane_row(ak.flatten(branches["hit_module"]).to_numpy(), ak.flatten(branches["hit_plane"]).to_numpy())
    z = geo.PLANES.z[rows]
    for lo, hi in zip(STACK.z_lo[passive], STACK.z_hi[passive]):
        assert not ((z > lo) & (z < hi)).any()


def _photon_visible_energy(z0, x0=-200.0, n=200, energy=1000.0):
    rng = np.random.default_rng(1)
    photons = interactions.Particles(np.arange(n), np.full(n, interactions.PI0), np.full(n, energy),
                                     np.tile([x0, 0.0, z0], (n, 1)), np.tile([0.0, 0.0, 1.0], (n, 1)),
                                     np.zeros(n), np.zeros(n, np.int64))
    return particles.shower_photons(rng, photons).energy.sum() / n


def test_showers_are_absorbed_by_lead_and_iron():
    # From the upstream face of target 1: 4.6 X0 of lead (x > 205 mm) or 1.5 X0 of iron.
    t1 = next(v for v in geo.PASSIVE_VOLUMES if v.target == 1 and v.material == "Pb")
    in_lead = _photon_visible_energy(t1.z_min + 0.1, x0=400.0)
    in_iron = _photon_visible_energy(t1.z_min + 0.1, x0=-400.0)
    assert in_lead < 0.6 * in_iron
    # In the tracker (X0 = 410 mm) a 1 GeV shower is long: it leaks out of the image window.
    assert _photon_visible_energy(6000.0) < 0.3 * 1000.0


def test_hadron_ranges_and_interactions():
    rng = np.random.default_rng(2)
    n = 400
    protons = interactions.Particles(np.arange(n), np.full(n, 2), np.full(n, 200.0), np.tile([0, 0, 6000.0], (n, 1)),
                                     np.tile([0.0, 0.0, 1.0], (n, 1)), np.zeros(n), np.zeros(n, np.int64))
    deposits, secondaries = particles.step_charged(rng, protons)
    planes_hit = np.bincount(deposits.event, minlength=n)
    # CSDA range of a 200 MeV proton in polystyrene is about 26 g/cm2: about 13 planes.
    assert 10 <= np.median(planes_hit) <= 16
    # About 26 g/cm2 / 80 g/cm2 (interaction length): roughly a quarter interact.
    interacted = len(np.unique(secondaries.event))
    assert 0.1 * n < interacted < 0.45 * n


def test_segment_fractions_follow_mass():
    expected = interactions.mass_fractions_by_segment()
    assert (expected > 0.004).all()  # every segment populated
    z = generate(knobs_model(muon_only=True), 3000, seed=9)["mc_vtx_z"]
    observed = np.bincount(geo.segment_of_z(z), minlength=geo.N_SEGMENTS) / len(z)
    sigma = np.sqrt(expected * (1 - expected) / len(z))
    assert (np.abs(observed - expected) < 4 * sigma + 1e-3).all()


def test_segment_weights_shift_fractions_only_when_asked():
    weights = [1.0] * geo.N_SEGMENTS
    weights[10] = 0.0
    z = generate(knobs_model(muon_only=True, segment_weights=weights), 1000, seed=9)["mc_vtx_z"]
    assert (geo.segment_of_z(z) != 10).all()


def test_dis_dominates_at_high_w():
    kin = interactions.draw_kinematics(np.random.default_rng(0), np.full(20000, 6.0))
    high_w = kin.w > 2.0
    assert (kin.int_type[high_w] == interactions.DIS).mean() > 0.95
    assert (kin.int_type == interactions.DIS).mean() > 0.5
    assert (kin.w[kin.int_type == interactions.DIS] >= interactions.DIS_MIN_W_GEV - 1e-9).all()


def test_muon_only_has_one_track():
    model = knobs_model(muon_only=True, noise_hits_per_event=0)
    branches = generate(model, 200, seed=1)
    full = generate(knobs_model(noise_hits_per_event=0), 200, seed=1)
    assert ak.mean(ak.num(branches["hit_strip"])) < 0.7 * ak.mean(ak.num(full["hit_strip"]))
    # A single straight-ish track: at most a few strips per plane.
    rows = geo.plane_row(ak.flatten(branches["hit_module"]).to_numpy(), ak.flatten(branches["hit_plane"]).to_numpy())
    event = np.repeat(np.arange(200), ak.num(branches["hit_strip"]))
    assert np.bincount(event * 100 + rows).max() <= 6


def test_write_root_is_atomic(tmp_path):
    branches = generate(PhysicsModel.nominal(), 20, seed=1)
    path = tmp_path / "out.root"
    write_root(path, branches)
    before = path.read_bytes()
    broken = dict(branches, mc_w=np.zeros(3, np.float32))  # wrong length: fails mid-write
    with pytest.raises(Exception):
        write_root(path, broken)
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.root"]  # no temporary left


def test_failed_simulation_leaves_no_file(tmp_path, monkeypatch):
    import minerva_vertex.simulation.writer as writer

    def fail_extend(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writer.uproot.WritableTree, "extend", fail_extend)
    path = tmp_path / "sample" / "part000.root"
    with pytest.raises(OSError, match="disk full"):
        simulate_file(PhysicsModel.nominal(), 30, seed=1, part_index=0, path=path)
    assert list(path.parent.iterdir()) == []
