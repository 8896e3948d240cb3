"""The whole config against its JSON schema (workflow/schemas/), with a short error.

:func:`validate_config` fills the schemas' defaults into the config exactly as Snakemake's
``snakemake.utils.validate`` does (tests compare the two), follows the ``$ref`` from one
schema file to another, and reports the first problem as one :class:`ConfigError` line:
the key, what was found and what is allowed (for an unknown key, the closest valid one).
:func:`check_or_exit` is what the Snakefile runs first: the schema, then the cross-checks
of :mod:`minerva_vertex.workflow_config`; a problem ends the run with that one line.
"""

from __future__ import annotations

import difflib
import re
import reprlib
import sys
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import yaml
from referencing import Registry, Resource

from minerva_vertex import settings
from minerva_vertex.config_error import ConfigError

CONFIG_SCHEMA = settings.SCHEMA_DIR / "config.schema.yaml"
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "list", dict: "mapping"}
BOUNDS = {"minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist, _short.maxdict = 60, 60, 4, 4


def _load(path: str | Path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def _validator(schema_path: Path):
    schema = _load(schema_path)
    # Relative $refs resolve against the file itself, as in Snakemake's validate.
    schema["$id"] = schema_path.resolve().as_uri()

    def retrieve(uri: str) -> Resource:
        return Resource.from_contents(_load(url2pathname(urlparse(uri).path)))

    registry = Registry(retrieve=retrieve).with_resource(uri=str(schema_path), resource=Resource.from_contents(schema))
    return settings.FillingValidator(schema, registry=registry)


def validate_config(config: dict, schema_path: str | Path = CONFIG_SCHEMA) -> None:
    """Fill the schema's defaults into ``config`` (in place) and check it; ConfigError naming the key."""
    error = jsonschema.exceptions.best_match(_validator(Path(schema_path)).iter_errors(config))
    if error is not None:
        key, message = describe(error)
        raise ConfigError(key, message)


def _found(value) -> str:
    kind = JSON_TYPES.get(type(value), "empty value" if value is None else type(value).__name__)
    return f"found {_short.repr(value)} ({kind})"


def _closest(name: str, allowed) -> str:
    match = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1, cutoff=0.6)
    return f"; did you mean '{match[0]}'?" if match else ""


def _unknown_key(error, path: list[str]) -> tuple[str, str]:
    allowed = list(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    unknown = [k for k in error.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
    name = str(unknown[0]) if unknown else "?"
    hint = _closest(name, allowed) or f"; allowed here: {', '.join(allowed) or 'none'}"
    return ".".join([*path, name]), f"unknown key{hint}"


def describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(key path, one-line message: what was found, what is allowed) of a schema error."""
    path = [str(p) for p in error.absolute_path]
    key, kind, expected = ".".join(path) or "(top level)", error.validator, error.validator_value
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        return _unknown_key(error, path)
    if kind == "required":
        missing = [name for name in expected if name not in error.instance] or expected
        return ".".join([*path, str(missing[0])]), "missing; it is required"
    if kind == "type":
        wanted = " or ".join(expected) if isinstance(expected, list) else expected
        return key, f"{_found(error.instance)}; expected {'a mapping' if wanted == 'object' else wanted}"
    if kind == "enum":
        hint = _closest(error.instance, expected) if isinstance(error.instance, str) else ""
        return key, f"{_found(error.instance)}; expected one of {', '.join(map(str, expected))}{hint}"
    if kind in BOUNDS:
        return key, f"{_found(error.instance)}; expected a value {BOUNDS[kind]} {expected}"
    if kind in ("minItems", "maxItems"):
        return key, f"{_found(error.instance)}; expected {'at least' if kind == 'minItems' else 'at most'} {expected} item(s)"
    if kind == "oneOf" and all(set(sub) == {"required"} for sub in expected):
        choices = " or ".join("+".join(sub["required"]) for sub in expected)
        return key, f"has keys {', '.join(map(str, error.instance)) or 'none'}; expected exactly one of {choices}"
    if kind == "pattern" and "propertyNames" in error.schema_path:
        return ".".join([*path, str(error.instance)]), f"not a valid name; expected one matching {expected}"
    return key, " ".join(error.message.split())[:200]


def check_or_exit(config: dict, stream=None) -> None:
    """The config validated (defaults filled in) and cross-checked, or the run ended with
    exit status 1 and one line naming the key (the Snakefile's first step). Warnings of the
    checks reach ``stream`` (standard error) one line each."""
    from minerva_vertex import workflow_config
    from minerva_vertex.job_log import console_warnings

    stream = stream if stream is not None else sys.stderr
    try:
        with console_warnings(stream):
            validate_config(config)
            workflow_config.check_config(config)
    except ConfigError as error:
        print(f"Error: {error}", file=stream)
        raise SystemExit(1) from None
