"""Physics/detector models of the toy simulation: one dataclass of documented knobs.

A model is built from a config mapping (``simulation.models.<name>``); every knob has a
default, so ``{}`` is the nominal simulation. The same knobs, ranges and defaults are in
workflow/schemas/simulation.schema.yaml (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..geometry import N_SEGMENTS
from ..workflow_config import ConfigError


def _knob(default, doc: str, minimum=None, maximum=None):
    metadata = {"doc": doc, "minimum": minimum, "maximum": maximum}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class PhysicsModel:
    """Knobs of one physics/detector model (differences of the kind data shows against
    simulation). Defaults are the nominal simulation."""

    # --- beam --------------------------------------------------------------------------
    beam_mean_gev: float = _knob(
        6.0, "Mean neutrino energy of the interaction spectrum, GeV (NuMI medium energy: about 6).", 1.0, 50.0
    )
    beam_shape: float = _knob(
        3.0, "Gamma-distribution shape of the energy spectrum (3: r.m.s. = mean / 1.7; larger = narrower).", 0.5, 50.0
    )
    # --- interactions ------------------------------------------------------------------
    hadron_multiplicity_scale: float = _knob(
        1.0, "Multiplies the mean number of charged and neutral pions in DIS.", 0.0, 5.0
    )
    hadron_energy_scale: float = _knob(
        1.0, "Multiplies the kinetic energy given to every final-state hadron.", 0.1, 5.0
    )
    muon_only: bool = _knob(False, "Simulate only the muon: no hadrons, no showers (tests of track vertexing).")
    segment_weights: list = _knob(
        [1.0] * N_SEGMENTS,
        "Per-segment (0-10) multipliers of the target mass; all 1 places vertices by mass. Change only "
        "to shift the segment fractions on purpose (a label shift).",
        0.0,
    )
    # --- detector response -------------------------------------------------------------
    light_yield_pe_per_mev: float = _knob(
        6.0, "Photoelectrons per MeV of visible energy (photostatistics, Poisson).", 0.1, 1000.0
    )
    energy_scale: float = _knob(1.0, "Calibration: reported energy / true visible energy.", 0.1, 10.0)
    crosstalk_fraction: float = _knob(
        0.005, "Fraction of a strip's light seen by each of its two neighbouring strips.", 0.0, 0.5
    )
    noise_hits_per_event: float = _knob(
        1.5, "Mean number of noise deposits per event (random plane and strip); photostatistics and the "
        "threshold remove some.", 0.0, 1000.0
    )
    noise_energy_mev: float = _knob(0.8, "Mean energy above threshold of a noise hit, MeV.", 0.0, 100.0)
    dead_channel_fraction: float = _knob(0.0, "Fraction of strips that never give a hit.", 0.0, 1.0)
    dead_channel_seed: int = _knob(12345, "Seed of the dead-channel map (fixed for a model).", 0)
    threshold_mev: float = _knob(0.4, "Readout threshold on a strip's reported energy, MeV.", 0.0, 100.0)
    time_resolution_ns: float = _knob(3.0, "Gaussian resolution of hit times, ns.", 0.0, 1000.0)

    @classmethod
    def from_config(cls, config: dict | None, name: str = "model") -> PhysicsModel:
        """Model from a config mapping; unknown knobs and bad values raise ConfigError
        naming ``simulation.models.<name>.<knob>``."""
        config = dict(config or {})
        known = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for key, value in config.items():
            path = f"simulation.models.{name}.{key}"
            if key not in known:
                raise ConfigError(path, f"unknown knob (known: {', '.join(known)})")
            values[key] = _checked(path, known[key], value)
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def knob_fields() -> tuple[dataclasses.Field, ...]:
    return dataclasses.fields(PhysicsModel)


def _default(knob: dataclasses.Field):
    return knob.default_factory() if knob.default is dataclasses.MISSING else knob.default


def _checked(path: str, knob: dataclasses.Field, value):
    default = _default(knob)
    minimum, maximum = knob.metadata["minimum"], knob.metadata["maximum"]
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(path, f"expected true or false, got {value!r}")
        return value
    if isinstance(default, list):
        if not isinstance(value, list) or len(value) != len(default):
            raise ConfigError(path, f"expected a list of {len(default)} numbers, got {value!r}")
        items = [_checked_number(path, float, v, minimum, maximum) for v in value]
        if sum(items) <= 0:
            raise ConfigError(path, "at least one weight must be positive")
        return items
    kind = int if isinstance(default, int) else float
    return _checked_number(path, kind, value, minimum, maximum)


def _checked_number(path, kind, value, minimum, maximum):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        raise ConfigError(path, f"expected a {'whole ' if kind is int else ''}number, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(path, f"{value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(path, f"{value} is above the maximum {maximum}")
    return kind(value)
