"""Physics/detector models of the toy simulation: one dataclass of knobs.

A model is built from a config mapping (``simulation.models.<name>``). The knobs' meaning,
ranges and defaults live in workflow/schemas/simulation.schema.yaml alone: a knob left out
takes the schema's default, so ``{}`` is the nominal simulation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config_error import ConfigError


@dataclass(frozen=True)
class PhysicsModel:
    """Knobs of one physics/detector model (differences of the kind data shows against
    simulation); see the simulation schema for each."""

    # --- beam --------------------------------------------------------------------------
    beam_mean_gev: float
    beam_shape: float
    # --- interactions ------------------------------------------------------------------
    hadron_multiplicity_scale: float
    hadron_energy_scale: float
    muon_only: bool
    segment_weights: list
    pion_absorption_probability: float
    pion_charge_exchange_probability: float
    cascade_nucleons_per_event: float
    # --- accidental activity -------------------------------------------------------------
    rock_muon_fraction: float
    # --- particle response -----------------------------------------------------------------
    muon_response_scale: float
    meson_response_scale: float
    proton_response_scale: float
    neutron_response_scale: float
    em_response_scale: float
    birks_mm_per_mev: float
    # --- detector response -------------------------------------------------------------
    light_yield_pe_per_mev: float
    energy_scale: float
    crosstalk_fraction: float
    noise_hits_per_event: float
    noise_energy_mev: float
    dead_channel_fraction: float
    dead_channel_seed: int
    threshold_mev: float
    time_resolution_ns: float

    @classmethod
    def from_config(cls, config: dict | None, name: str = "model") -> PhysicsModel:
        """Model from a config mapping, the schema's defaults for left-out knobs; unknown
        knobs and bad values raise ConfigError naming ``simulation.models.<name>.<knob>``."""
        from minerva_vertex import settings

        values = settings.simulation_model(config, name)
        if sum(values["segment_weights"]) <= 0:
            raise ConfigError(f"simulation.models.{name}.segment_weights", "at least one weight must be positive")
        return cls(**values)

    @classmethod
    def nominal(cls) -> PhysicsModel:
        """The nominal simulation: every knob at the schema's default."""
        return cls.from_config({}, "nominal")

    def light_by_species(self) -> np.ndarray:
        """Visible-energy multiplier per species code (materials.MUON, PION, PROTON;
        interactions.PI0 showers; interactions.NEUTRON's knocked-out protons)."""
        return np.array([self.muon_response_scale, self.meson_response_scale, self.proton_response_scale,
                         self.em_response_scale, self.neutron_response_scale])

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def knob_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(PhysicsModel))
