"""The domain-adaptation study: its target domains, the shift scan and the networks it trains.

The config section ``domain_study`` names sourced target domains (samples simulated with the
physics models MINERvA made: data-like, no final-state interactions, the low-energy beam)
and a shift scan: models made from the source sample's (the simulation's) along the
data-like direction, every knob at ``nominal + k x (data_like - nominal)``, and with the
final-state interactions at a fraction of nominal's. A scan point whose knobs equal a
sourced domain's is that domain; every other point is a simulated sample of its own
(:func:`study_samples`, generated here, never written by hand).

Per domain and seed the study trains an oracle, a DANN and an MCC; per seed, one CNN and one
control shared by every domain (the control reads no target). The adapted networks, the
control and a fine-tuned oracle start from the seed's CNN with the recipe's settings; scan
points take ``scan.training_fraction`` of its events (a control of their own). A network
whose entry equals a configured model's is that model, so the default run's are reused.
:func:`design` is what the table (minerva_vertex.domain_table) reads; :func:`estimate`
what the study costs on 2 CPU cores.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache

from minerva_vertex import seed_study, variations
from minerva_vertex.config_error import ConfigError

FSI_KNOBS = ("pion_absorption_probability", "pion_charge_exchange_probability", "cascade_nucleons_per_event")
DATA_LIKE, FSI = "data_like", "fsi"  # the scan's two directions
ADAPTED = ("dann", "mcc")
METHODS = ("cnn", "oracle", *ADAPTED, "control")


@dataclass(frozen=True)
class Domain:
    """One target domain: its sample, where it sits on the scan, how its networks train."""

    name: str
    sample: str
    origin: str  # "sourced" (a domain MINERvA made) or "scan"
    direction: str | None  # DATA_LIKE or FSI; None: not on the scan (the low-energy beam)
    size: float | None  # k along the data-like direction; 1 - fraction along the FSI one
    beyond_minerva_uncertainties: bool
    training_fraction: float  # of the recipe's training events (1: the full recipe)


def section(config: Mapping) -> dict:
    return copy.deepcopy(_filled_section(json.dumps(config.get("domain_study"), sort_keys=True)))


@cache
def _filled_section(text: str) -> dict:
    from minerva_vertex import settings

    return settings.section("domain_study", json.loads(text))


def enabled(config: Mapping) -> bool:
    return bool(section(config)["targets"])


def _label(value: float) -> str:
    return f"{value:g}".replace(".", "p").replace("-", "m")


def _knobs(config: Mapping, model: str, key: str) -> dict:
    models = (config.get("simulation") or {}).get("models") or {}
    if model not in models:
        raise ConfigError(key, f"unknown model '{model}' (simulation.models has: {', '.join(sorted(models)) or 'none'})")
    return copy.deepcopy(_filled_model(json.dumps(models[model], sort_keys=True), model))


@cache
def _filled_model(text: str, model: str) -> dict:
    from minerva_vertex import settings

    return settings.simulation_model(json.loads(text), model)


def source_sample(config: Mapping) -> str:
    return config["models"][section(config)["cnn"]]["train_sample"]


def _source_model(config: Mapping) -> str:
    entry = config["samples"][source_sample(config)].get("simulate")
    if entry is None:
        raise ConfigError("domain_study.cnn", f"the CNN's training sample '{source_sample(config)}' is not simulated: the scan has no nominal model")
    return entry["model"]


def direction_knobs(nominal: Mapping, end: Mapping, k: float, key: str) -> dict:
    """Every knob at ``nominal + k x (end - nominal)``; a knob that is not a number (a
    switch, the segment weights, a seed) must be the same in both models."""
    knobs = dict(nominal)
    for knob, value in nominal.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or knob in variations.NOT_VARIABLE:
            if end[knob] != value:
                raise ConfigError(key, f"knob '{knob}' differs between the models and cannot be scaled")
            continue
        knobs[knob] = value + k * (end[knob] - value)
        variations._check_value(knob, knobs[knob], key)
    return knobs


def fsi_knobs(nominal: Mapping, fraction: float) -> dict:
    """Nominal's knobs with every final-state interaction at ``fraction`` of nominal's."""
    return {**nominal, **{knob: fraction * nominal[knob] for knob in FSI_KNOBS}}


def _same_knobs(a: Mapping, b: Mapping) -> bool:
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-12) if isinstance(a[k], float) else a[k] == b[k] for k in a
    )


def scan_points(config: Mapping) -> list[dict]:
    """Every point of the scan: ``direction``, ``size``, ``knobs``, ``label`` and
    ``beyond_minerva_uncertainties`` (k > 1 along the data-like direction)."""
    scan = section(config)["scan"]
    nominal = _knobs(config, _source_model(config), "domain_study.cnn")
    end = _knobs(config, scan["direction"], "domain_study.scan.direction")
    points = []
    for k in scan["sizes"]:
        points.append({"direction": DATA_LIKE, "size": float(k), "name": f"scan_{DATA_LIKE}_k{_label(k)}",
                       "knobs": direction_knobs(nominal, end, k, "domain_study.scan.sizes"),
                       "label": f"nominal + {k:g} x ({scan['direction']} - nominal)", "beyond_minerva_uncertainties": k > 1})
    for fraction in scan["fsi_fractions"]:
        points.append({"direction": FSI, "size": 1.0 - fraction, "name": f"scan_fsi_{_label(fraction)}",
                       "knobs": fsi_knobs(nominal, fraction), "label": f"nominal, final-state interactions x {fraction:g}",
                       "beyond_minerva_uncertainties": False})
    return points


# --- samples -----------------------------------------------------------------------------
def _sourced(config: Mapping) -> dict[str, dict]:
    """Each sourced domain's sample entry: the configured one, or one simulated like ``like``."""
    study = section(config)
    out = {}
    for name in study["targets"]:
        if name in config["samples"]:
            out[name] = config["samples"][name]
            continue
        spec = study["target_samples"].get(name)
        if spec is None:
            raise ConfigError("domain_study.targets", f"'{name}' is neither a configured sample nor under domain_study.target_samples")
        _knobs(config, spec["model"], f"domain_study.target_samples.{name}.model")
        like = config["samples"].get(study["like"], {}).get("simulate")
        if like is None:
            raise ConfigError("domain_study.like", f"'{study['like']}' is not a configured simulated sample")
        out[name] = {"simulate": {"model": spec["model"], "events": like["events"], "files": like["files"], "seed": spec["seed"]}}
    return out


def _matching_sourced(config: Mapping, knobs: Mapping) -> str | None:
    for name, entry in _sourced(config).items():
        model = (entry.get("simulate") or {}).get("model")
        if model is not None and _same_knobs(knobs, _knobs(config, model, f"domain_study.targets.{name}")):
            return name
    return None


def study_samples(config: Mapping) -> dict[str, dict]:
    """Samples the study simulates that ``samples`` does not configure, by name: ``entry``
    (in the form of ``samples``), ``knobs`` of its physics model and the model's ``label``."""
    if not enabled(config):
        return {}
    out = {}
    for name, entry in _sourced(config).items():
        if name not in config["samples"]:
            model = entry["simulate"]["model"]
            out[name] = {"entry": entry, "knobs": _knobs(config, model, f"domain_study.target_samples.{name}"), "label": model}
    scan = section(config)["scan"]
    for point in scan_points(config):
        if _matching_sourced(config, point["knobs"]) is None:
            entry = {"simulate": {"model": point["label"], "events": scan["events"], "files": scan["files"], "seed": scan["seed"]}}
            out[point["name"]] = {"entry": entry, "knobs": point["knobs"], "label": point["label"]}
    return out


def domains(config: Mapping) -> list[Domain]:
    """The sourced domains (each placed on the scan where a point equals it), then the
    scan's own points."""
    if not enabled(config):
        return []
    fraction = section(config)["scan"]["training_fraction"]
    placed, own = {}, []
    for point in scan_points(config):
        match = _matching_sourced(config, point["knobs"])
        if match is not None:
            placed.setdefault(match, point)
        else:
            own.append(Domain(point["name"], point["name"], "scan", point["direction"], point["size"],
                              point["beyond_minerva_uncertainties"], fraction))
    sourced = []
    for name in section(config)["targets"]:
        point = placed.get(name, {})
        sourced.append(Domain(name, name, "sourced", point.get("direction"), point.get("size"),
                              point.get("beyond_minerva_uncertainties", False), 1.0))
    return sourced + own


# --- networks ----------------------------------------------------------------------------
def _scaled(config: Mapping, entry: Mapping, fraction: float) -> dict:
    """The entry with ``fraction`` of its training events (of its whole train split when it
    sets no max_train_events)."""
    if fraction == 1:
        return dict(entry)
    events = entry.get("max_train_events")
    if events is None:
        events = _sample_events(config, entry["train_sample"])[0] * config["images"]["splits"]["train"]
    return {**entry, "max_train_events": max(1, round(fraction * events))}


def _named(config: Mapping, entry: Mapping, name: str) -> str:
    """A configured model with the same entry gives its name (its network is reused)."""
    for configured, other in (config.get("models") or {}).items():
        if other == entry:
            return configured
    return name


def _finetune(recipe: Mapping, **changes) -> dict:
    entry = {**recipe, "kind": "finetune", **changes}
    entry.pop("target_sample", None)
    return entry


def _seed_networks(config: Mapping, seed: int, fraction: float) -> dict[str, tuple[str, dict]]:
    """The seed's CNN and the control at ``fraction`` of the recipe, (name, entry) by method."""
    study, models = section(config), config["models"]
    cnn_entry = {**models[study["cnn"]], "seed": seed}
    cnn = _named(config, cnn_entry, seed_study.study_name(study["cnn"], seed))
    recipe = _scaled(config, {**models[study["recipe"]], "seed": seed, "init_from": cnn}, fraction)
    suffix = "" if fraction == 1 else "_scan"
    control = _finetune(recipe)
    return {"cnn": (cnn, cnn_entry), "control": (_named(config, control, f"control{suffix}_seed{seed}"), control), "recipe": (None, recipe)}


def _domain_networks(config: Mapping, domain: Domain, shared: Mapping) -> dict[str, tuple[str, dict]]:
    """The oracle, DANN and MCC of one domain and seed, from the seed's shared networks."""
    study, recipe = section(config), shared["recipe"][1]
    entries = {"dann": {**recipe, "target_sample": domain.sample}, "mcc": {**recipe, "kind": "mcc", "target_sample": domain.sample}}
    if study["oracle"] == "finetune":
        entries["oracle"] = _finetune(recipe, train_sample=domain.sample)
    else:
        cnn_entry = {**shared["cnn"][1], "train_sample": domain.sample}
        entries["oracle"] = _scaled(config, cnn_entry, domain.training_fraction)
    seed = recipe["seed"]
    return {m: (_named(config, e, f"{m}_{domain.name}_seed{seed}"), e) for m, e in entries.items()}


def networks(config: Mapping) -> list[dict]:
    """Every (domain, seed, method) of the study: ``model`` (its name) and ``entry``; the CNN
    and the control repeat under each domain they serve."""
    rows = []
    for seed in section(config)["seeds"] if enabled(config) else []:
        shared_by_fraction = {}
        for domain in domains(config):
            fraction = domain.training_fraction
            if fraction not in shared_by_fraction:
                shared_by_fraction[fraction] = _seed_networks(config, seed, fraction)
            shared = shared_by_fraction[fraction]
            for method, (model, entry) in {**shared, **_domain_networks(config, domain, shared)}.items():
                if method != "recipe":
                    rows.append({"domain": domain.name, "seed": seed, "method": method, "model": model, "entry": entry})
    return rows


def study_models(config: Mapping) -> dict[str, dict]:
    """Entries of the networks the study adds (not the configured ones), by name."""
    configured = config.get("models") or {}
    return {row["model"]: row["entry"] for row in networks(config) if row["model"] not in configured}


def design(config: Mapping) -> dict:
    """What the table reads: the source sample, seeds, domains, and the network of every
    (domain, seed, method), without entries."""
    rows = [{k: v for k, v in row.items() if k != "entry"} for row in networks(config)]
    return {"source": source_sample(config) if enabled(config) else None, "seeds": list(section(config)["seeds"]),
            "domains": [asdict(d) for d in domains(config)], "networks": rows}


def metric_pairs(study: Mapping) -> list[tuple[str, str]]:
    """(network, sample) of every metrics file the table reads: each network on its
    domain's sample, and on the source sample the CNN and every network of a sourced domain
    but its oracle (the scan's scaled-down networks are not scored on the source: it
    would cost a sixth of the study for figures the scan does not show)."""
    domains_by_name = {d["name"]: d for d in study["domains"]}
    pairs = []
    for row in study["networks"]:
        domain = domains_by_name[row["domain"]]
        on_source = row["method"] == "cnn" or (row["method"] != "oracle" and domain["origin"] == "sourced")
        wanted = [study["source"], domain["sample"]] if on_source else [domain["sample"]]
        pairs += [(row["model"], sample) for sample in wanted]
    return list(dict.fromkeys(pairs))


def check(config: Mapping) -> None:
    """The study's models, samples and names: every network it adds has a name of its own
    (not a configured or seed-study model's with another entry)."""
    if not enabled(config):
        return
    study, models = section(config), config.get("models") or {}
    for key, kind in (("cnn", "cnn"), ("recipe", "dann")):
        name = study[key]
        if name not in models or models[name]["kind"] != kind:
            raise ConfigError(f"domain_study.{key}", f"'{name}' is not a configured {kind} model")
    if models[study["recipe"]].get("init_from") != study["cnn"]:
        raise ConfigError("domain_study.recipe", f"'{study['recipe']}' must start from '{study['cnn']}' (init_from)")
    if models[study["recipe"]].get("selection") == "dev":
        raise ConfigError("domain_study.recipe", "selection dev needs a target sample, which the control does not take")
    for row in networks(config):
        if row["model"] in models and models[row["model"]] != row["entry"]:
            raise ConfigError(f"models.{row['model']}", f"the name is the domain study's {row['method']} of seed {row['seed']}; rename the model")
    seed_models = seed_study.study_models(config)
    for name, entry in study_models(config).items():
        if name in seed_models and seed_models[name] != entry:
            raise ConfigError("domain_study", f"network '{name}' is the seed study's with other settings")
    taken = sorted(set(study_samples(config)) & (set(config["samples"]) | set(variations.varied_samples(config))))
    if taken:
        raise ConfigError(f"samples.{taken[0]}", f"the name '{taken[0]}' is taken by a sample of the domain study")
    scan_seed, source = study["scan"]["seed"], config["samples"][source_sample(config)]["simulate"]["seed"]
    if any(d.origin == "scan" for d in domains(config)) and scan_seed == source:
        raise ConfigError("domain_study.scan.seed", f"{scan_seed} is the seed of the source sample: the scan's events must be new")


# --- what it costs -------------------------------------------------------------------------
# Measured on 2 cores (AMD EPYC, bf16; docs/performance.md, docs/domain-study.md): a CNN 200 s
# for 120,000 events, a DANN or MCC 110 s for 30,000 + 30,000, a fine-tuning on source
# events alone half that; scoring 1,066 events/s; simulation 120 CPU s and images 35 CPU s
# per 150,000 events. A job's start (Python, torch) is taken as 3 s, a metrics job as 5 s.
SECONDS_PER_TRAINING_EVENT = {"cnn": 200 / 120_000, "dann": 110 / 30_000, "mcc": 110 / 30_000, "finetune": 55 / 30_000}
SCORED_EVENTS_PER_SECOND = 1066
JOB_START_SECONDS = 3
METRICS_JOB_SECONDS = 5
SIMULATION_CPU_SECONDS_PER_EVENT = (120 + 35) / 150_000
CORES = 2


def _sample_events(config: Mapping, sample: str) -> tuple[int, int]:
    entry = config["samples"].get(sample) or study_samples(config)[sample]["entry"]
    return entry["simulate"]["events"], entry["simulate"]["files"]


def estimate(config: Mapping) -> dict:
    """Seconds on 2 cores of what the study adds to the default run (its configured models
    and samples taken as made): ``trainings``, ``scoring`` (score jobs), ``metrics``,
    ``simulation`` (simulation and images), ``total``; and the number of ``networks``."""
    splits = config["images"]["splits"]
    train, seconds = {}, {"trainings": 0.0, "scoring": 0.0, "metrics": 0.0, "simulation": 0.0}
    for row in networks(config):
        if row["model"] not in (config.get("models") or {}):
            train[row["model"]] = row["entry"]
    for entry in train.values():
        events = _sample_events(config, entry["train_sample"])[0] * splits["train"]
        if entry.get("max_train_events") is not None:
            events = min(events, entry["max_train_events"])
        seconds["trainings"] += events * SECONDS_PER_TRAINING_EVENT[entry["kind"]]
    for model, sample in metric_pairs(design(config)):
        if model in train or sample in study_samples(config):
            events, files = _sample_events(config, sample)
            seconds["scoring"] += events * splits["test"] / SCORED_EVENTS_PER_SECOND + files * JOB_START_SECONDS
            seconds["metrics"] += METRICS_JOB_SECONDS / CORES
    for sample in study_samples(config):
        seconds["simulation"] += _sample_events(config, sample)[0] * SIMULATION_CPU_SECONDS_PER_EVENT / CORES
    return {**seconds, "total": sum(seconds.values()), "networks": len(train)}
