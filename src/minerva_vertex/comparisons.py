"""The ``comparisons`` config section: which finders, samples and targets are compared.

A comparison names finders (configured models, or ``tracking`` for the track-based
vertex), samples and target/material selections (names of ``metrics.SELECTIONS``, or
``all``); each gets a purity/efficiency plot by target, one by segment, and a table.
``bias`` names the source (simulation) and target (data-like) samples of the bias metrics.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from minerva_vertex import metrics
from minerva_vertex.config_error import ConfigError

TRACKING = "tracking"  # finder name of the track-based vertex


@dataclass(frozen=True)
class Comparison:
    name: str
    title: str
    finders: tuple[str, ...]
    samples: tuple[str, ...]
    selections: tuple[str, ...]


def finders(config: Mapping) -> list[str]:
    """Every vertex finder of the run: the track-based vertex, then the configured models."""
    models = list(config["models"])
    if TRACKING in models:
        raise ConfigError(f"models.{TRACKING}", f"'{TRACKING}' names the track-based vertex; choose another model name")
    return [TRACKING, *models]


def bias_samples(config: Mapping) -> tuple[str, str]:
    """(source, target) samples of the bias metrics."""
    section = (config.get("comparisons") or {}).get("bias") or {}
    samples = list(config["samples"])
    source = section.get("source", samples[0])
    target = section.get("target", samples[1] if len(samples) > 1 else samples[0])
    for key, value in (("source", source), ("target", target)):
        if value not in samples:
            raise ConfigError(f"comparisons.bias.{key}", f"unknown sample '{value}' (samples: {', '.join(samples)})")
    return source, target


def resolve(config: Mapping) -> dict[str, Comparison]:
    """Checked comparisons by name; every name must refer to something configured."""
    known_finders, samples = finders(config), list(config["samples"])
    result = {}
    for name, entry in ((config.get("comparisons") or {}).get("sets") or {}).items():
        key = f"comparisons.sets.{name}"
        chosen_finders = tuple(entry.get("finders", known_finders))
        chosen_samples = tuple(entry.get("samples", samples))
        selections = entry.get("selections", "all")
        selections = tuple(metrics.SELECTIONS) if selections == "all" else tuple(selections)
        for what, values, known in (
            ("finders", chosen_finders, known_finders),
            ("samples", chosen_samples, samples),
            ("selections", selections, list(metrics.SELECTIONS)),
        ):
            for value in values:
                if value not in known:
                    raise ConfigError(f"{key}.{what}", f"unknown name '{value}' (known: {', '.join(known)})")
        result[name] = Comparison(name, entry.get("title", name), chosen_finders, chosen_samples, selections)
    return result

