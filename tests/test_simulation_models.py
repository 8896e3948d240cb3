"""Physics/detector models: knobs from config, the schema, and what each knob changes."""

import dataclasses
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml

from minerva_vertex import geometry as geo
from minerva_vertex.simulation import PhysicsModel, generate
from minerva_vertex.simulation import interactions, response
from minerva_vertex.simulation.models import knob_names
from minerva_vertex.workflow_config import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((REPO / "workflow/schemas/simulation.schema.yaml").read_text())["$defs"]["section"]
KNOB_SCHEMA = SCHEMA["properties"]["models"]["additionalProperties"]
CONFIG = yaml.safe_load((REPO / "config/config.yaml").read_text())


def knobs_model(**knobs):
    """The nominal model with some knobs changed (validated like a config entry)."""
    return PhysicsModel.from_config(knobs)


def test_defaults_and_unknown_knob():
    assert PhysicsModel.from_config({}) == PhysicsModel.nominal()
    assert PhysicsModel.from_config(None).beam_mean_gev == 6.0
    with pytest.raises(ConfigError) as err:
        PhysicsModel.from_config({"light_yeild": 3}, "data_like")
    assert err.value.key == "simulation.models.data_like.light_yeild"


@pytest.mark.parametrize("knobs,key", [
    ({"noise_hits_per_event": -1}, "noise_hits_per_event"),
    ({"muon_only": "yes"}, "muon_only"),
    ({"dead_channel_seed": 1.5}, "dead_channel_seed"),
    ({"segment_weights": [1, 2]}, "segment_weights"),
    ({"segment_weights": [0] * 11}, "segment_weights"),
    ({"crosstalk_fraction": 0.9}, "crosstalk_fraction"),
])
def test_bad_knob_values_name_the_key(knobs, key):
    with pytest.raises(ConfigError, match=f"simulation.models.m.{key}"):
        PhysicsModel.from_config(knobs, "m")


def test_the_schema_is_the_only_source_of_knobs_and_defaults():
    assert KNOB_SCHEMA["additionalProperties"] is False
    assert set(KNOB_SCHEMA["properties"]) == set(knob_names())
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(PhysicsModel))
    nominal = PhysicsModel.nominal()
    for name, spec in KNOB_SCHEMA["properties"].items():
        assert getattr(nominal, name) == spec["default"], name
        assert spec["description"], name


def test_default_config_models_build():
    models = CONFIG["simulation"]["models"]
    assert PhysicsModel.from_config(models["nominal"], "nominal") == PhysicsModel.nominal()
    data_like = PhysicsModel.from_config(models["data_like"], "data_like")
    differs = {k for k in knob_names() if getattr(data_like, k) != getattr(PhysicsModel.nominal(), k)}
    # One MINERvA standard deviation in each uncertain response and FSI knob, nothing else.
    assert differs == {"pion_absorption_probability", "pion_charge_exchange_probability", "rock_muon_fraction",
                       "muon_response_scale", "meson_response_scale", "proton_response_scale",
                       "neutron_response_scale", "em_response_scale", "birks_mm_per_mev", "time_resolution_ns"}
    assert "segment_weights" not in differs and "muon_only" not in differs


@pytest.fixture(scope="module")
def default_samples():
    models = CONFIG["simulation"]["models"]
    return {name: generate(PhysicsModel.from_config(models[name], name), 1500, seed=31)
            for name in ("nominal", "data_like")}


def test_data_like_is_a_covariate_shift(default_samples):
    fractions = {name: np.bincount(geo.segment_of_z(b["mc_vtx_z"]), minlength=11) / 1500
                 for name, b in default_samples.items()}
    assert np.abs(fractions["nominal"] - fractions["data_like"]).max() < 0.02
    nominal, data_like = default_samples["nominal"], default_samples["data_like"]
    # Same beam; lower responses and more quenching: less visible energy per event.
    assert np.mean(nominal["mc_incomingE"]) == pytest.approx(6000, rel=0.04)
    assert np.mean(data_like["mc_incomingE"]) == pytest.approx(6000, rel=0.04)
    energy = lambda b: float(ak.mean(ak.sum(b["hit_energy"], axis=1)))  # noqa: E731
    assert energy(data_like) < 0.98 * energy(nominal)


def test_dead_channels_never_fire():
    model = knobs_model(dead_channel_fraction=0.2, dead_channel_seed=3)
    branches = generate(model, 200, seed=2)
    dead = response.dead_channel_map(0.2, 3)
    rows = geo.plane_row(ak.flatten(branches["hit_module"]).to_numpy(), ak.flatten(branches["hit_plane"]).to_numpy())
    strips = ak.flatten(branches["hit_strip"]).to_numpy()
    assert not dead[rows, strips].any()
    assert 0.17 < dead.mean() < 0.23


def _mean_hits(**knobs):
    model = knobs_model(muon_only=True, **{"noise_hits_per_event": 0.0, **knobs})
    return float(ak.mean(ak.num(generate(model, 300, seed=4)["hit_strip"])))


def test_noise_and_crosstalk_add_hits():
    quiet = _mean_hits()
    # Photostatistics and the threshold remove some noise deposits; a few land on real hits.
    assert quiet + 12 < _mean_hits(noise_hits_per_event=20.0) < quiet + 20.5
    assert _mean_hits(crosstalk_fraction=0.1) > quiet + 5


def _muon_plane_energies(**knobs):
    model = knobs_model(muon_only=True, noise_hits_per_event=0.0, crosstalk_fraction=0.0, **knobs)
    b = generate(model, 300, seed=6)
    rows = geo.plane_row(ak.flatten(b["hit_module"]).to_numpy(), ak.flatten(b["hit_plane"]).to_numpy())
    event = np.repeat(np.arange(300), ak.num(b["hit_strip"]))
    total = np.bincount(event * 100 + rows, weights=ak.flatten(b["hit_energy"]).to_numpy())
    return total[total > 0]


def test_energy_scale_and_light_yield():
    nominal = _muon_plane_energies()
    scaled = _muon_plane_energies(energy_scale=0.9)
    assert np.median(scaled) / np.median(nominal) == pytest.approx(0.9, abs=0.03)
    dim = _muon_plane_energies(light_yield_pe_per_mev=1.0)
    spread = lambda e: np.subtract(*np.percentile(e, [75, 25])) / np.median(e)  # noqa: E731
    assert spread(dim) > 1.3 * spread(nominal)


def test_hadron_knobs():
    rng = np.random.default_rng(0)
    kin = interactions.draw_kinematics(rng, np.full(5000, 8.0))

    def pions(scale):
        _, species, kinetic = interactions._hadron_list(np.random.default_rng(1), kin, scale)
        return np.isin(species, [interactions.PION, interactions.PI0]).sum()

    assert pions(1.3) / pions(1.0) == pytest.approx(1.3, abs=0.1)
    vertex = np.zeros((5000, 3))
    soft = interactions.final_state(np.random.default_rng(2), kin, vertex, np.zeros(5000),
                                    knobs_model(hadron_energy_scale=0.5))
    hard = interactions.final_state(np.random.default_rng(2), kin, vertex, np.zeros(5000), PhysicsModel.nominal())
    hadron = lambda p: p.kinetic[p.species != 0].sum()  # noqa: E731
    assert hadron(soft) / hadron(hard) == pytest.approx(0.5, rel=1e-6)
