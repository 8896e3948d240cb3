"""MINERvA's target domains as simulation models: no final-state interactions (`no_fsi`) and
the low-energy beam (`low_energy_beam`), each nominal but for what it names, and the preset
that simulates them."""

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy import stats

from minerva_vertex.simulation import PhysicsModel, interactions
from minerva_vertex.simulation.beam import neutrino_energy_gev
from minerva_vertex.simulation.materials import PION, PROTON
from minerva_vertex.simulation.models import knob_names

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())
PRESET = yaml.safe_load((REPO / "config/presets/target_domains.yaml").read_text())
FSI_KNOBS = {"pion_absorption_probability", "pion_charge_exchange_probability", "cascade_nucleons_per_event"}
BEAM_KNOBS = {"beam_mean_gev", "beam_shape"}


def configured(name: str) -> PhysicsModel:
    return PhysicsModel.from_config(CONFIG["simulation"]["models"][name], name)


def differing_knobs(model: PhysicsModel) -> set[str]:
    nominal = configured("nominal")
    return {k for k in knob_names() if getattr(model, k) != getattr(nominal, k)}


def test_each_target_domain_changes_only_what_it_names():
    no_fsi = configured("no_fsi")
    assert differing_knobs(no_fsi) <= FSI_KNOBS
    assert all(getattr(no_fsi, k) == 0 for k in FSI_KNOBS)
    low_energy_beam = configured("low_energy_beam")
    assert "beam_mean_gev" in differing_knobs(low_energy_beam) <= BEAM_KNOBS


def _final_states(model: PhysicsModel, n_events: int = 400, seed: int = 7):
    """Particles of ``n_events`` events of the model's beam and vertices, as the generator
    makes them (the struck nuclei's FSI applied), and the same events' particles as they
    leave the primary interaction (no nucleus given: no FSI at all)."""
    rng = np.random.default_rng(seed)
    energy = neutrino_energy_gev(rng, n_events, model.beam_mean_gev, model.beam_shape)
    x, y, z, nucleus = interactions.place_vertices(rng, n_events, model.segment_weights)
    kin = interactions.draw_kinematics(rng, energy)
    vertex, time = np.stack([x, y, z], axis=1), np.zeros(n_events)
    after = interactions.final_state(np.random.default_rng(seed + 1), kin, vertex, time, model, nucleus)
    before = interactions.final_state(np.random.default_rng(seed + 1), kin, vertex, time, model)
    return before, after


def fates(before, after) -> dict:
    """Pions absorbed (gone), charge-exchanged (a charged pion become a pi0) and nucleons
    from a cascade (new nucleons beyond the proton-neutron pair of each absorption), found
    by matching particles on (event, kinetic energy), which the FSI leaves unchanged."""
    species_after = {(e, k): s for e, k, s in zip(after.event, after.kinetic, after.species)}
    keys_before = set(zip(before.event, before.kinetic))
    pions = np.isin(before.species, [PION, interactions.PI0])
    absorbed = sum((e, k) not in species_after for e, k in zip(before.event[pions], before.kinetic[pions]))
    charged = before.species == PION
    exchanged = sum(species_after.get((e, k)) == interactions.PI0
                    for e, k in zip(before.event[charged], before.kinetic[charged]))
    nucleons = np.isin(after.species, [PROTON, interactions.NEUTRON])
    new_nucleons = sum((e, k) not in keys_before for e, k in zip(after.event[nucleons], after.kinetic[nucleons]))
    return {"absorbed": absorbed, "exchanged": exchanged, "cascade": new_nucleons - 2 * absorbed}


def test_no_fsi_leaves_every_hadron_as_the_interaction_made_it():
    before, after = _final_states(configured("no_fsi"))
    assert fates(before, after) == {"absorbed": 0, "exchanged": 0, "cascade": 0}
    for field in ("event", "species", "kinetic", "dir", "light"):
        assert np.array_equal(getattr(before, field), getattr(after, field)), field
    assert (before.species == PION).sum() > 100  # pions there were to absorb


def test_the_fates_are_seen_where_fsi_is_on():
    # The same events with the nominal FSI lose pions to absorption and charge exchange; with
    # a cascade (the systematic variation's one extra nucleon on carbon) they gain nucleons.
    nominal = fates(*_final_states(configured("nominal")))
    assert nominal["absorbed"] > 100 and nominal["exchanged"] > 40 and nominal["cascade"] == 0
    cascade = PhysicsModel.from_config({**CONFIG["simulation"]["models"]["nominal"], "cascade_nucleons_per_event": 1.0})
    assert fates(*_final_states(cascade))["cascade"] > 100


def gamma_mode(energies: np.ndarray) -> float:
    """Mode of the gamma distribution fitted to the energies (maximum likelihood)."""
    shape, _, scale = stats.gamma.fit(energies, floc=0)
    return (shape - 1) * scale


def test_low_energy_beam_peaks_at_3_5_gev_below_the_medium_energy_beam():
    low, medium = configured("low_energy_beam"), configured("nominal")
    assert low.beam_mean_gev * (low.beam_shape - 1) / low.beam_shape == pytest.approx(3.5)
    draws = {name: neutrino_energy_gev(np.random.default_rng(3), 4000, m.beam_mean_gev, m.beam_shape)
             for name, m in (("low", low), ("medium", medium))}
    assert gamma_mode(draws["low"]) == pytest.approx(3.5, abs=0.2)  # the fit's spread: 0.04 GeV
    assert gamma_mode(draws["medium"]) > 3.8
    assert draws["low"].mean() < draws["medium"].mean() - 0.4


def test_preset_adds_both_target_domains_like_data_like():
    from snakemake.utils import update_config

    from minerva_vertex import workflow_config

    config = copy.deepcopy(CONFIG)
    update_config(config, copy.deepcopy(PRESET))
    data_like = CONFIG["samples"]["data_like"]["simulate"]
    seeds = {entry["simulate"]["seed"] for entry in CONFIG["samples"].values()}
    for sample in ("no_fsi", "low_energy_beam"):
        entry = config["samples"][sample]["simulate"]
        assert entry["model"] == sample
        assert (entry["events"], entry["files"]) == (data_like["events"], data_like["files"])
        assert entry["seed"] not in seeds
        seeds.add(entry["seed"])
    assert set(CONFIG["samples"]) <= set(config["samples"])
    workflow_config.check_config(config)
