"""What the workflow needs to know about a validated config: samples, their files, checks.

The JSON schema (workflow/schemas/) checks types and ranges; this module checks what a
schema cannot: that names refer to things that exist and that input files are there.
Every error names the config key at fault.
"""

from __future__ import annotations

import glob
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from minerva_vertex import domain_study, model_kinds, paths, seed_study, variations
from minerva_vertex.config_error import ConfigError

log = logging.getLogger(__name__)


def sample_entry(config: dict, sample: str) -> dict:
    """A sample's entry: from ``samples``, or built for a sample of the variations."""
    if sample in config["samples"]:
        return config["samples"][sample]
    if sample in variations.varied_samples(config):
        return variations.sample_entry(config)
    studied = domain_study.study_samples(config).get(sample)
    if studied is not None:
        return studied["entry"]
    raise ConfigError("samples", f"no sample '{sample}'")


def is_simulated(config: dict, sample: str) -> bool:
    return "simulate" in sample_entry(config, sample)


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


def _listed_files(config: dict, sample: str) -> list[str]:
    """Every path a sample's ``files`` lists, globs expanded, in order, repeats included."""
    key = f"samples.{sample}.files"
    listed = []
    for pattern in config["samples"][sample]["files"]:
        matches = sorted(glob.glob(os.path.expanduser(pattern))) if glob.has_magic(pattern) else [pattern]
        if not matches:
            raise ConfigError(key, f"pattern '{pattern}' matches no file")
        for path in matches:
            if not os.path.isfile(path):
                raise ConfigError(key, f"file '{path}' does not exist")
            listed.append(path)
    return listed


def user_files(config: dict, sample: str) -> dict[str, str]:
    """Part name -> path for a sample given as files; globs expanded, order kept, a path
    listed twice read once (:func:`check_config` warns of it)."""
    return _parts(_listed_files(config, sample), sample)


def _parts(listed: list[str], sample: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for path in listed:
        name = _part_name(path)
        if name in parts and parts[name] != path:
            raise ConfigError(f"samples.{sample}.files", f"files '{parts[name]}' and '{path}' share the name '{name}'")
        parts[name] = path
    return parts


def check_user_files(config: dict, sample: str) -> None:
    """A sample's files exist and have distinct part names (globs expanded once); a warning
    names each path listed more than once (directly or through overlapping globs): it is
    read once, which may not be what was meant."""
    listed = _listed_files(config, sample)
    _parts(listed, sample)
    for path, times in Counter(listed).items():
        if times > 1:
            log.warning(
                "config key 'samples.%s.files': file '%s' is listed %d times; its events are read once",
                sample, path, times,
            )


def sample_parts(config: dict, sample: str) -> list[str]:
    """Names of the sample's files; every per-file job of the workflow is one of these."""
    entry = sample_entry(config, sample)
    if "simulate" in entry:
        return simulated_part_names(entry["simulate"]["files"])
    return list(user_files(config, sample))


def root_file(config: dict, sample: str, part: str) -> str:
    """The ROOT hit file of one part of a sample."""
    if is_simulated(config, sample):
        return paths.simulated_root(paths.results_dir(config), sample, part)
    return user_files(config, sample)[part]


def simulation_job(config: dict, sample: str, part: str) -> dict:
    """What one simulate job needs: model name and knobs, events of this part, seed, part index."""
    entry = sample_entry(config, sample)["simulate"]
    parts = simulated_part_names(entry["files"])
    if part not in parts:
        raise ConfigError(f"samples.{sample}.simulate.files", f"sample has no part '{part}' (parts: {parts[0]}..{parts[-1]})")
    index = parts.index(part)
    model = entry["model"]
    varied = variations.varied_samples(config).get(sample)
    studied = None if sample in config["samples"] else domain_study.study_samples(config).get(sample)
    if studied is not None:
        model_name, knobs = studied["label"], studied["knobs"]
    elif varied is not None:
        model_name, knobs = f"{model}, {varied.label}", varied.knobs
    else:
        model_name, knobs = model, config["simulation"]["models"][model]
    return {
        "model_name": model_name,
        "model": dict(knobs),
        "events": events_per_part(entry["events"], entry["files"])[index],
        "seed": entry["seed"],
        "part_index": index,
    }


def images_settings(config: dict, sample: str) -> dict:
    """The ``images`` section for one sample: every event of a varied sample is a test event."""
    section = dict(config["images"])
    if sample in variations.varied_samples(config):
        section["splits"] = dict(variations.EVALUATION_SPLITS)
    return section


def check_config(config: dict) -> None:
    """Cross-reference checks that a JSON schema cannot express."""
    models = config.get("simulation", {}).get("models", {})
    from .simulation.models import PhysicsModel  # knob checks name the key; imported late

    for name, knobs in models.items():
        PhysicsModel.from_config(knobs, name)
    for sample, entry in config["samples"].items():
        if "simulate" in entry:
            model = entry["simulate"]["model"]
            if model not in models:
                known = ", ".join(sorted(models)) or "none"
                raise ConfigError(
                    f"samples.{sample}.simulate.model",
                    f"unknown model '{model}' (simulation.models has: {known})",
                )
            for key in ("events", "files", "seed"):
                if key not in entry["simulate"]:
                    raise ConfigError(f"samples.{sample}.simulate.{key}", "missing")
            if entry["simulate"]["events"] < 1:
                raise ConfigError(f"samples.{sample}.simulate.events", "must be at least 1")
            if entry["simulate"]["files"] > entry["simulate"]["events"]:
                raise ConfigError(f"samples.{sample}.simulate.files", "more files than events")
        else:
            check_user_files(config, sample)
    check_images_config(config)
    check_models(config)
    check_variations(config)
    seed_study.check(config)
    domain_study.check(config)


def check_images_config(config: dict) -> None:
    """The split fractions of section `images` sum to 1."""
    from minerva_vertex.splits import check_fractions

    try:
        check_fractions(config.get("images", {}).get("splits", {}))
    except ValueError as err:
        raise ConfigError("images.splits", str(err).split(": ", 1)[-1]) from err


def check_models(config: dict) -> None:
    """Models refer to configured samples; a kind that learns from a target sample has one,
    the others none; a finetune model starts from another; training needs labels."""
    samples = config["samples"]
    for name, model in (config.get("models") or {}).items():
        key = f"models.{name}"
        for field in ("train_sample", "target_sample"):
            sample = model.get(field)
            if sample is not None and sample not in samples:
                known = ", ".join(sorted(samples))
                raise ConfigError(f"{key}.{field}", f"unknown sample '{sample}' (samples has: {known})")
        check_target(model, key)
        if model["kind"] in model_kinds.STARTED_KINDS and model.get("init_from") is None:
            raise ConfigError(f"{key}.init_from", f"kind '{model['kind']}' fine-tunes another model's weights: name it")
        train_sample = samples[model["train_sample"]]
        if "simulate" not in train_sample and train_sample.get("has_truth") is False:
            raise ConfigError(
                f"{key}.train_sample",
                f"sample '{model['train_sample']}' has no truth (has_truth: false): no labels to train on",
            )
        if model.get("normalization") == "batch" and model.get("weight_averaging") == "ema":
            raise ConfigError(f"{key}.weight_averaging", "ema averages weights, not batch normalisation's running statistics: use none with normalization: batch")
        check_init_from(config, name)


def check_target(model: Mapping, key: str) -> None:
    """A dann or mcc model has a target sample other than its training sample; no other kind
    has one, nor selects its epoch by the DEV risk, which weighs source events by the target's."""
    kind = model["kind"]
    if model_kinds.takes_target(kind):
        if "target_sample" not in model:
            raise ConfigError(f"{key}.target_sample", f"kind '{kind}' needs a target sample")
        if model["target_sample"] == model["train_sample"]:
            raise ConfigError(f"{key}.target_sample", "the target sample must differ from train_sample")
        return
    takers = " and ".join(model_kinds.TARGET_KINDS)
    if "target_sample" in model:
        raise ConfigError(f"{key}.target_sample", f"only {takers} models take a target sample")
    if model.get("selection") == "dev":
        raise ConfigError(f"{key}.selection", f"dev needs a target sample, which only {takers} models take")


def check_init_from(config: dict, name: str) -> None:
    """``init_from`` names another configured model, and following it never loops."""
    entries = config.get("models") or {}
    seen, current = [name], entries[name].get("init_from")
    while current is not None:
        key = f"models.{seen[-1]}.init_from"
        if current not in entries:
            raise ConfigError(key, f"unknown model '{current}' (models has: {', '.join(sorted(entries))})")
        if current in seen:
            raise ConfigError(f"models.{name}.init_from", f"models start from each other in a loop: {' -> '.join([*seen, current])}")
        seen.append(current)
        current = entries[current].get("init_from")


def check_variations(config: dict) -> None:
    """The variations' knobs and values (:func:`variations.varied_samples`), their size, and
    a seed that no training sample has: their events must be new to every network."""
    if not variations.varied_samples(config):
        return
    vary = variations.section(config)
    if vary["files"] > vary["events"]:
        raise ConfigError("variations.files", "more files than events")
    for name, model in (config.get("models") or {}).items():
        for sample in training_samples(model).values():
            entry = config["samples"][sample].get("simulate")
            if entry is not None and entry["seed"] == vary["seed"]:
                raise ConfigError(
                    "variations.seed",
                    f"{vary['seed']} is the seed of sample '{sample}', which trains model '{name}': "
                    "the networks would be scored on the events they were trained on",
                )


def training_samples(entry: Mapping) -> dict[str, str]:
    """Samples a model (its entry) trains on, by role: ``source`` (labelled) and, for a
    kind that learns from a target sample (dann, mcc), ``target``."""
    roles = {"source": entry["train_sample"]}
    if model_kinds.takes_target(entry["kind"]):
        roles["target"] = entry["target_sample"]
    return roles
