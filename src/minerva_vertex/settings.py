"""The config schemas (workflow/schemas/) as the one source of defaults.

Defaults are filled once, from the schemas, on either way in:

- in the workflow, the Snakefile validates the whole config against
  ``config.schema.yaml``, which fills every default; rules and scripts then read filled
  values and fill nothing again;
- called directly (tests, benchmarks, notebooks), :func:`section` (a top-level section
  such as ``training``) or :func:`entry` (one entry of a section of named entries, such as
  a model under ``models``) validates a partial section and fills what it leaves out.

A settings class offers both ways: ``from_filled`` takes a filled section as it is (the
rules'; :func:`filled` picks its keys and names one missing), ``from_section`` (or
``from_dict`` for an entry) fills a partial one first through :func:`section` or
:func:`entry`.

So a dataclass, a rule or a keyword argument never holds a default of its own and no check
is written twice.

A rule's params carry what changes its outputs: :func:`result_part` of its section (a
change reruns the rule). Its script adds the run-only knobs (:data:`RUN_ONLY`) back from
the config with :func:`with_run_only` (or reads one with :func:`run_only`), the one way a
script gets a knob that is not in its params.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import jsonschema
import yaml

from minerva_vertex.config_error import ConfigError

# The package is used from its checkout (editable install or the Snakefile's sys.path), so
# the workflow's own schemas are read where they stand.
SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"


class SettingsError(ConfigError):
    """A config section that does not follow its schema, naming the key."""


@cache
def _section_schema(name: str) -> dict:
    path = SCHEMA_DIR / f"{name}.schema.yaml"
    return yaml.safe_load(path.read_text())["$defs"]["section"]


def schema_of(name: str, *, entry: bool = False) -> dict:
    """The schema of section ``name`` (or of one of its named entries)."""
    schema = _section_schema(name)
    return copy.deepcopy(schema["additionalProperties"] if entry else schema)


def _filling_defaults(validator_class):
    """A validator that also fills in every default, nested ones included (as Snakemake's)."""
    check_properties = validator_class.VALIDATORS["properties"]

    def properties_with_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, copy.deepcopy(subschema["default"]))
        yield from check_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties_with_defaults})


FillingValidator = _filling_defaults(jsonschema.Draft202012Validator)


def _validated(values: Mapping | None, schema: dict, key: str) -> dict:
    filled = copy.deepcopy(dict(values or {}))
    try:
        FillingValidator(schema).validate(filled)
    except jsonschema.ValidationError as error:
        path = [str(p) for p in error.absolute_path]
        if error.validator == "additionalProperties" and not path:  # name the unknown key itself
            path = [str(k) for k in filled if k not in schema.get("properties", {})][:1]
        raise SettingsError(".".join([key, *path]), error.message) from None
    return filled


def section(name: str, values: Mapping | None) -> dict:
    """Section ``name`` of a config with the schema's defaults filled in, validated."""
    return _validated(values, schema_of(name), name)


def simulation_model(values: Mapping | None, name: str) -> dict:
    """Knobs of simulation model ``name`` with the schema's defaults filled in, validated."""
    schema = schema_of("simulation")["properties"]["models"]["additionalProperties"]
    return _validated(values, schema, f"simulation.models.{name}")


def entry(name: str, key: str, values: Mapping | None) -> dict:
    """Entry ``key`` of section ``name`` (e.g. a model) with defaults filled in, validated."""
    return _validated(values, schema_of(name, entry=True), f"{name}.{key}")


def filled(name: str, values: Mapping, keys) -> dict:
    """The ``keys`` of section ``name`` of a validated config, whose defaults the validation
    filled in: nothing is filled again; a SettingsError names a key missing (a section
    that never went through :func:`section` or the Snakefile's validation)."""
    missing = [key for key in keys if key not in values]
    if missing:
        raise SettingsError(f"{name}.{missing[0]}", "missing; expected a section with its defaults filled in")
    return {key: values[key] for key in keys}


# Knobs that change how a job runs but never what it writes: the scheduler's resources and
# memory or display knobs. They stay out of the rules' params and out of the training's
# resume fingerprint, so changing one reruns nothing. (Training's memory_limit_mb and
# chunk_events are not here: they choose the reader, in memory or by chunks, and so the
# order in which events are seen.) images.allow_no_hits_in_window decides whether a job
# fails, never what a job that succeeds writes.
RUN_ONLY = {
    "images": ("chunk_events", "allow_no_hits_in_window"),
    "tracking": ("chunk_events",),
    "training": ("threads", "gpu", "mem_mb", "runtime", "checkpoint_minutes", "progress"),
    "scoring": ("batch_size", "threads", "gpu"),
}


def result_part(config: Mapping, name: str, values: Mapping | None = None) -> dict:
    """Section ``name`` of a validated config (or ``values`` of that section) less its
    run-only knobs: a rule's params."""
    values = config[name] if values is None else values
    return {key: value for key, value in values.items() if key not in RUN_ONLY.get(name, ())}


def run_only(config: Mapping, name: str) -> dict:
    """The run-only knobs of section ``name`` of a validated config: what a script reads
    from the config rather than from its rule's params."""
    return {key: config[name][key] for key in RUN_ONLY.get(name, ())}


def with_run_only(params: Mapping, config: Mapping, name: str) -> dict:
    """A rule's params of section ``name`` (:func:`result_part`) with the section's run-only
    knobs read from the validated ``config``: what its script runs with."""
    return {**params, **run_only(config, name)}
