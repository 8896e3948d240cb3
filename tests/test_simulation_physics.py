"""Neutrons, Birks' quenching, final-state interactions, species responses and accidental
rock muons: each knob moves what it should, on events the simulation itself makes."""

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml
from scipy import stats

from minerva_vertex import geometry as geo
from minerva_vertex.simulation import PhysicsModel, generate
from minerva_vertex.simulation import accidentals, interactions, particles
from minerva_vertex.simulation.materials import MASS_MEV, MUON, PION, PROTON, SPEED_OF_LIGHT_MM_NS

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())


def knobs_model(**knobs):
    return PhysicsModel.from_config(knobs)


def _beam(species, n, kinetic, z0=6000.0, direction=(0.0, 0.0, 1.0), light=None):
    return interactions.Particles(np.arange(n), np.full(n, species), np.full(n, kinetic), np.tile([0.0, 0.0, z0], (n, 1)),
                                  np.tile(direction, (n, 1)), np.zeros(n), np.zeros(n, np.int64), light)


def test_neutron_hits_are_detached_and_delayed():
    n, z0 = 2000, 6000.0
    deposits = particles.propagate(np.random.default_rng(0), _beam(interactions.NEUTRON, n, 100.0, z0))
    events_with_hits = len(np.unique(deposits.event))
    # Interaction length of scintillator 770 mm, about 2.4 m to the end of the window.
    assert 0.5 * n < events_with_hits < 0.98 * n
    first_z = np.array([deposits_z(deposits, e).min() for e in np.unique(deposits.event)])
    assert np.median(first_z - z0) > 200.0  # detached: tens of centimetres from the start
    # Delayed: later than light would take; a 100 MeV neutron has beta 0.43.
    beta = np.sqrt(100.0 * (100.0 + 2 * MASS_MEV[PROTON])) / (100.0 + MASS_MEV[PROTON])
    z = deposits_z(deposits)
    light_time = (z - z0) / SPEED_OF_LIGHT_MM_NS
    assert np.all(deposits.time >= light_time - 1e-6)
    first = np.r_[True, deposits.event[1:] != deposits.event[:-1]]  # each stub's first step
    delay = deposits.time[first] - (z[first] - z0) / (beta * SPEED_OF_LIGHT_MM_NS)
    assert np.median(np.abs(delay)) < 0.5  # they start at the neutron's time of flight


def deposits_z(deposits, event=None):
    rows = deposits.plane_row if event is None else deposits.plane_row[deposits.event == event]
    return geo.PLANES.z[rows]


def test_neutron_response_scales_only_neutron_light():
    beam = _beam(interactions.NEUTRON, 500, 150.0)
    nominal = particles.propagate(np.random.default_rng(1), beam)
    dim = particles.propagate(np.random.default_rng(1), beam, knobs_model(neutron_response_scale=0.8))
    assert dim.energy.sum() / nominal.energy.sum() == pytest.approx(0.8, rel=0.02)
    muons = _beam(MUON, 200, 2000.0, light=knobs_model().light_by_species()[[MUON] * 200])
    a = particles.propagate(np.random.default_rng(2), muons)
    b = particles.propagate(np.random.default_rng(2), muons, knobs_model(neutron_response_scale=0.8))
    assert np.array_equal(a.energy, b.energy)


def test_birks_formula():
    kb = 0.0905
    assert particles.birks_quenching(particles.MIP_DEDX_MEV_MM, kb) == pytest.approx(1.0)
    assert particles.birks_quenching(2.0, kb) == pytest.approx((1 + kb * particles.MIP_DEDX_MEV_MM) / (1 + kb * 2.0))
    assert particles.birks_quenching(5.0, 0.0) == 1.0


def test_quenching_lowers_proton_light_by_birks_and_leaves_muons():
    def visible(species, kinetic, kb):
        beam = _beam(species, 400, kinetic)
        return particles.step_charged(np.random.default_rng(3), beam, knobs_model(birks_mm_per_mev=kb))[0]

    # Same random numbers: each deposit changes by the Birks factor of its step alone.
    protons = [visible(PROTON, 150.0, kb) for kb in (0.0, 0.0905, 0.1055)]
    ratio = protons[1].energy / protons[0].energy
    assert np.all(ratio < 1.0)
    last = np.r_[protons[0].event[1:] != protons[0].event[:-1], True]  # stopping step: highest dE/dx
    assert np.median(ratio[last]) < np.median(ratio[~last]) < 1.0
    # The data-like constant quenches more, by the formula: invert the nominal ratio to the
    # step's dE/dx and predict the other.
    mip = particles.MIP_DEDX_MEV_MM
    dedx = ((1 + 0.0905 * mip) / ratio - 1) / 0.0905
    np.testing.assert_allclose(protons[2].energy / protons[0].energy, particles.birks_quenching(dedx, 0.1055), rtol=1e-9)
    muons = [visible(MUON, 3000.0, kb) for kb in (0.0, 0.0905)]
    assert np.median(muons[1].energy / muons[0].energy) == pytest.approx(1.0, abs=0.005)


def test_pion_absorption_and_charge_exchange():
    rng = np.random.default_rng(4)
    kin = interactions.draw_kinematics(rng, np.full(4000, 8.0))
    vertex = np.tile([0.0, 0.0, 6000.0], (4000, 1))

    def fates(z, **knobs):
        p = interactions.final_state(np.random.default_rng(5), kin, vertex, np.zeros(4000), knobs_model(**knobs),
                                     nucleus_z=np.full(4000, z))
        return {s: int((p.species == s).sum()) for s in (PION, interactions.PI0, PROTON, interactions.NEUTRON)}

    free = fates(6, pion_absorption_probability=0.0, pion_charge_exchange_probability=0.0)
    absorbing = fates(6, pion_absorption_probability=0.5, pion_charge_exchange_probability=0.0)
    pions = free[PION] + free[interactions.PI0]
    absorbed = pions - absorbing[PION] - absorbing[interactions.PI0]
    assert absorbed / pions == pytest.approx(0.5, abs=0.03)
    assert absorbing[PROTON] - free[PROTON] == absorbed  # each absorbed pion: a proton and a neutron
    assert absorbing[interactions.NEUTRON] - free[interactions.NEUTRON] == absorbed
    exchanging = fates(6, pion_absorption_probability=0.0, pion_charge_exchange_probability=0.3)
    assert (free[PION] - exchanging[PION]) / free[PION] == pytest.approx(0.3, abs=0.03)
    assert exchanging[interactions.PI0] - free[interactions.PI0] == free[PION] - exchanging[PION]
    # Lead absorbs more than carbon, as A^(1/3); hydrogen not at all.
    lead = fates(82, pion_absorption_probability=0.2, pion_charge_exchange_probability=0.0)
    lead_absorbed = (pions - lead[PION] - lead[interactions.PI0]) / pions
    assert lead_absorbed == pytest.approx(0.2 * (208 / 12) ** (1 / 3), abs=0.03)
    assert fates(1, pion_absorption_probability=0.5) == fates(1, pion_absorption_probability=0.0)


def test_species_responses_scale_their_own_deposits():
    kin = interactions.draw_kinematics(np.random.default_rng(6), np.full(300, 6.0))
    vertex = np.tile([0.0, 0.0, 6000.0], (300, 1))

    def deposits(**knobs):
        model = knobs_model(muon_only=True, **knobs)
        muons = interactions.final_state(np.random.default_rng(7), kin, vertex, np.zeros(300), model)
        return particles.propagate(np.random.default_rng(8), muons, model).energy

    assert deposits(muon_response_scale=0.976).sum() / deposits().sum() == pytest.approx(0.976, rel=1e-3)
    assert np.array_equal(deposits(meson_response_scale=0.5), deposits())  # no pion among muons


def test_rock_muons_come_in_the_configured_share_of_events():
    n, fraction = 4000, 0.3
    muons = accidentals.rock_muons(np.random.default_rng(9), n, np.zeros(n), knobs_model(rock_muon_fraction=fraction))
    assert abs(len(muons) - fraction * n) < 4 * np.sqrt(n * fraction * (1 - fraction))
    assert np.all(muons.pos[:, 2] < geo.PLANES.z.min()) and np.all(muons.dir[:, 2] > 0.95)
    assert np.all((muons.time >= -50) & (muons.time <= 150))
    # In whole events (same seed, vertices and particles alike; the photostatistics are drawn
    # anew): the events given a rock muon gain the hits of a muon through 100 planes.
    without = generate(knobs_model(rock_muon_fraction=0.0), 1000, seed=3)
    with_muons = generate(knobs_model(rock_muon_fraction=fraction), 1000, seed=3)
    gained = ak.to_numpy(ak.num(with_muons["hit_energy"]) - ak.num(without["hit_energy"]))
    changed = gained > 50
    assert abs(changed.mean() - fraction) < 4 * np.sqrt(fraction * (1 - fraction) / 1000)
    assert np.median(np.abs(gained[~changed])) < 10
    for name in ("mc_vtx_z", "mc_intType", "mc_incomingE"):
        assert np.array_equal(without[name], with_muons[name])


def test_a_response_only_change_keeps_vertices_and_transport():
    a = generate(knobs_model(), 500, seed=4)
    b = generate(knobs_model(energy_scale=0.9), 500, seed=4)
    for name in ("mc_vtx_x", "mc_vtx_z", "mc_intType", "mc_Q2"):
        assert np.array_equal(a[name], b[name])
    total = lambda branches: ak.to_numpy(ak.sum(branches["hit_energy"], axis=1))  # noqa: E731
    busy = total(a) > 100
    assert np.median(total(b)[busy] / total(a)[busy]) == pytest.approx(0.9, abs=0.02)


def test_default_samples_have_equal_segment_fractions():
    # The shift between simulation and data-like is a covariate shift: vertices placed alike.
    models = CONFIG["simulation"]["models"]
    counts = []
    for name, sample in CONFIG["samples"].items():
        spec = sample["simulate"]
        model = PhysicsModel.from_config(models[spec["model"]], spec["model"])
        z = generate(model, 6000, seed=spec["seed"])["mc_vtx_z"]
        counts.append(np.bincount(geo.segment_of_z(z), minlength=geo.N_SEGMENTS))
    assert stats.chi2_contingency(np.array(counts))[1] > 0.001
