"""What the workflow needs to know about a validated config: samples, their files, checks.

The JSON schema (workflow/schemas/) checks types and ranges; this module checks what a
schema cannot: that names refer to things that exist and that input files are there.
Every error names the config key at fault.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path


class ConfigError(ValueError):
    """A config value that cannot work, with the key that holds it."""

    def __init__(self, key: str, message: str):
        super().__init__(f"config key '{key}': {message}")
        self.key = key


def results_dir(config: dict) -> Path:
    return Path(config.get("results", "results"))


def is_simulated(config: dict, sample: str) -> bool:
    return "simulate" in config["samples"][sample]


def simulated_part_names(n_files: int) -> list[str]:
    return [f"part{i:03d}" for i in range(n_files)]


def events_per_part(total: int, n_files: int) -> list[int]:
    """Split ``total`` events into ``n_files`` near-equal parts (earlier parts get the extra)."""
    base, extra = divmod(total, n_files)
    return [base + (1 if i < extra else 0) for i in range(n_files)]


def _part_name(path: str) -> str:
    stem = Path(path).name
    for suffix in (".root",):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem)


def user_files(config: dict, sample: str) -> dict[str, str]:
    """Part name -> path for a sample given as files; globs expanded, order kept."""
    key = f"samples.{sample}.files"
    parts: dict[str, str] = {}
    for pattern in config["samples"][sample]["files"]:
        matches = sorted(glob.glob(os.path.expanduser(pattern))) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConfigError(key, f"pattern '{pattern}' matches no file")
        for path in matches:
            if not os.path.isfile(path):
                raise ConfigError(key, f"file '{path}' does not exist")
            name = _part_name(path)
            if name in parts and parts[name] != path:
                raise ConfigError(key, f"files '{parts[name]}' and '{path}' share the name '{name}'")
            parts[name] = path
    return parts


def sample_parts(config: dict, sample: str) -> list[str]:
    """Names of the sample's files; every per-file job of the workflow is one of these."""
    entry = config["samples"][sample]
    if "simulate" in entry:
        return simulated_part_names(entry["simulate"]["files"])
    return list(user_files(config, sample))


def root_file(config: dict, sample: str, part: str) -> str:
    """The ROOT hit file of one part of a sample."""
    if is_simulated(config, sample):
        return str(results_dir(config) / "simulated" / sample / f"{part}.root")
    return user_files(config, sample)[part]


def check_config(config: dict) -> None:
    """Cross-reference checks that a JSON schema cannot express."""
    models = config.get("simulation", {}).get("models", {})
    for sample, entry in config["samples"].items():
        if "simulate" in entry:
            model = entry["simulate"]["model"]
            if model not in models:
                known = ", ".join(sorted(models)) or "none"
                raise ConfigError(
                    f"samples.{sample}.simulate.model",
                    f"unknown model '{model}' (simulation.models has: {known})",
                )
            if entry["simulate"]["files"] > entry["simulate"]["events"]:
                raise ConfigError(f"samples.{sample}.simulate.files", "more files than events")
        else:
            user_files(config, sample)
