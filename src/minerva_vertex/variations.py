"""The ``variations`` config section: shifted samples for the systematic uncertainties.

Each entry of ``variations.knobs`` names a knob of the physics/detector model (a key of
``simulation.models.<model>``) and its one-sigma size; each shift of ``sigmas`` (or of the
knob's own ``sigmas``) makes one simulated sample with that knob at
``nominal + shift x sigma``, every other knob as in the nominal model. A nominal
sample of the same seed, events and files is made beside them (``NOMINAL``), so that a
shifted sample and the nominal share their vertices and kinematics wherever the varied
step comes after them (the simulation draws every step from its own random stream), and
the shifts are measured on the same events.

Varied samples are evaluation samples: every event is a test event (the seed differs from
every training sample's), and they never appear in ``samples``, so the plots and tables of
the configured samples are not multiplied by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from minerva_vertex.config_error import ConfigError

PREFIX = "vary_"
NOMINAL = f"{PREFIX}nominal"
EVALUATION_SPLITS = {"train": 0.0, "validation": 0.0, "test": 1.0}  # every event a test event
NOT_VARIABLE = ("muon_only", "segment_weights", "dead_channel_seed")  # switches, label shifts, seeds


@dataclass(frozen=True)
class VariedSample:
    """One simulated sample of the variations: ``knob`` at ``value`` (``shift`` sigmas)."""

    name: str
    knob: str | None  # None: the nominal reference
    shift: float  # in sigmas
    value: float | None
    knobs: Mapping  # every knob of the sample's physics model

    @property
    def label(self) -> str:
        return "nominal" if self.knob is None else f"{self.knob} {self.shift:+g} sigma"

    def describe(self) -> dict:
        """What the tables say of the sample: knob (None for the nominal), sigmas, value."""
        return {"knob": self.knob, "sigmas": self.shift, "value": self.value}


def shift_name(shift: float) -> str:
    """'up1', 'down2', 'up0p5', 'zero': a shift's part of a sample name."""
    if shift == 0:
        return "zero"
    text = f"{abs(shift):g}".replace(".", "p")
    return f"{'up' if shift > 0 else 'down'}{text}"


def sample_name(knob: str, shift: float) -> str:
    return f"{PREFIX}{knob}_{shift_name(shift)}"


def section(config: Mapping) -> dict:
    """The variations section with its defaults (an empty section: no variations)."""
    from minerva_vertex import settings

    return settings.section("variations", config.get("variations"))


@cache
def _knob_schemas() -> dict:
    from minerva_vertex import settings

    return settings.schema_of("simulation")["properties"]["models"]["additionalProperties"]["properties"]


def _check_value(knob: str, value: float, key: str) -> None:
    schema = _knob_schemas()[knob]
    low, high = schema.get("minimum", float("-inf")), schema.get("maximum", float("inf"))
    if not low <= value <= high:
        raise ConfigError(key, f"{knob} = {value:g} is outside its range [{low:g}, {high:g}]")
    if schema.get("type") == "integer" and value != int(value):
        raise ConfigError(key, f"{knob} = {value:g} must be a whole number")


def varied_samples(config: Mapping) -> dict[str, VariedSample]:
    """Every varied sample by name, the nominal first; {} without variations. Raises
    ConfigError naming the key for an unknown knob, a base model that does not exist, a
    shifted value outside the knob's range or a name taken by a configured sample."""
    vary = section(config)
    if not vary["knobs"]:
        return {}
    base = vary["model"]
    models = (config.get("simulation") or {}).get("models") or {}
    if base not in models:
        raise ConfigError("variations.model", f"unknown model '{base}' (simulation.models has: {', '.join(sorted(models)) or 'none'})")
    from minerva_vertex import settings

    nominal = settings.simulation_model(models[base], base)
    samples = {NOMINAL: VariedSample(NOMINAL, None, 0.0, None, nominal)}
    for knob, entry in vary["knobs"].items():
        key = f"variations.knobs.{knob}"
        if knob not in _knob_schemas():
            raise ConfigError(key, f"unknown knob '{knob}' (knobs: {', '.join(sorted(_knob_schemas()))})")
        if knob in NOT_VARIABLE:
            raise ConfigError(key, f"'{knob}' is not a knob with a size to vary")
        for shift in entry.get("sigmas", vary["sigmas"]):
            value = nominal[knob] + shift * entry["sigma"]
            _check_value(knob, value, key)
            name = sample_name(knob, shift)
            samples[name] = VariedSample(name, knob, float(shift), value, {**nominal, knob: value})
    taken = sorted(set(samples) & set(config["samples"]))
    if taken:
        raise ConfigError(f"samples.{taken[0]}", f"the name '{taken[0]}' is taken by a sample of the variations; rename it")
    return samples


def sample_entry(config: Mapping) -> dict:
    """The entry of every varied sample in the form of the ``samples`` section: simulated,
    with the section's events, files and seed (the knobs are each sample's own)."""
    vary = section(config)
    return {"simulate": {"model": vary["model"], "events": vary["events"], "files": vary["files"], "seed": vary["seed"]}}
