"""The seed study: configured networks retrained from other seeds, and how far they agree.

A training is one draw: its initial weights and the order it sees events in come from its
``seed``. The config section ``seed_study`` names models (``models``) and ``seeds``; each
(model, seed) pair is a network of its own, ``{model}_seed{seed}``, the model's entry with
only its seed replaced (a seed equal to the entry's own is the configured model itself).
They go through the ordinary train, score and metrics rules; this module derives their
entries and gathers their metrics into one table per seed: accuracy on every sample, the
target segments against the track-based vertex, and segments 0 and 9.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from minerva_vertex.config_error import ConfigError

TARGET_SEGMENTS = (1, 2, 3, 4, 5)  # the segments of the five passive targets (MINERVA.md)
REPORTED_SEGMENTS = (0, 9)  # upstream of the targets and between targets 4 and 5: the hardest
TRACKING = "tracking"


@dataclass(frozen=True)
class Member:
    """One network of the study: configured model ``base`` trained from ``seed``."""

    base: str
    seed: int
    model: str  # the model name its files go under


def study_name(base: str, seed: int) -> str:
    return f"{base}_seed{seed}"


def members(config: Mapping) -> list[Member]:
    """Every (model, seed) of the study, in the order configured."""
    section = config.get("seed_study") or {}
    out = []
    for base in section.get("models", []):
        own_seed = config["models"][base]["seed"]
        for seed in section.get("seeds", []):
            out.append(Member(base, seed, base if seed == own_seed else study_name(base, seed)))
    return out


def study_models(config: Mapping) -> dict[str, dict]:
    """Entries of the networks the study adds (not the configured ones): the base entry with
    its seed replaced, and an ``init_from`` of a studied model pointed at the same seed's."""
    studied = {m.base for m in members(config)}
    entries = {}
    for member in members(config):
        if member.model == member.base:
            continue
        entry = {**config["models"][member.base], "seed": member.seed}
        start = entry.get("init_from")
        if start in studied and member.seed != config["models"][start]["seed"]:
            entry["init_from"] = study_name(start, member.seed)
        entries[member.model] = entry
    return entries


def model_entries(config: Mapping) -> dict[str, dict]:
    """Every network the workflow can train: the configured ones and the study's."""
    return {**config["models"], **study_models(config)}


def check(config: Mapping) -> None:
    """The studied models are configured, and no study name is taken by a configured model."""
    section = config.get("seed_study") or {}
    configured = config.get("models") or {}
    for base in section.get("models", []):
        if base not in configured:
            known = ", ".join(sorted(configured))
            raise ConfigError("seed_study.models", f"unknown model '{base}' (models has: {known})")
    for name in study_models(config):
        if name in configured:
            raise ConfigError(f"models.{name}", f"the name is the seed study's for '{name.rsplit('_seed', 1)[0]}'")


# --- the table --------------------------------------------------------------------------------
def _value(entry) -> float | None:
    return None if entry is None else entry["value"]


def _half_width(entry) -> float:
    low, high = entry["interval"]
    return 0.5 * (high - low)


def target_comparison(network: Mapping, tracking: Mapping, max_miss_ratio: float) -> dict:
    """Per target segment: the share of its events put in another segment (misses) and the
    segment purity, of the network and of the track-based vertex on the same events; the
    goal is met where the misses are at most ``max_miss_ratio`` of tracking's and the purity
    at least tracking's. ``purity_difference_interval``: the 68 % interval of the purity less
    tracking's from a paired bootstrap, ``purity_below_tracking`` whether all of it lies below
    zero, and ``meets_goal_within_interval`` the goal with the purity read so (each None where
    the metrics lack the interval). ``matched_purity``: the network's purity at
    tracking's efficiency (None where the metrics lack it or the network's efficiency is lower)."""
    out = {}
    matched = network.get("purity_at_tracking_efficiency") or {}
    paired = network.get("purity_difference_to_tracking") or {}
    for segment in TARGET_SEGMENTS:
        mine, theirs = network["segments"], tracking["segments"]
        miss = 1 - mine["efficiency"][segment]["value"]
        tracking_miss = 1 - theirs["efficiency"][segment]["value"]
        purity, tracking_purity = _value(mine["purity"][segment]), _value(theirs["purity"][segment])
        ratio = miss / tracking_miss if tracking_miss > 0 else None
        misses_met = ratio is not None and ratio <= max_miss_ratio
        meets = misses_met and purity is not None and purity >= tracking_purity
        interval = (paired.get(f"target{segment}") or {}).get("interval")
        below = None if interval is None else bool(interval[1] < 0)
        out[f"target{segment}"] = {
            "miss": miss, "tracking_miss": tracking_miss, "miss_ratio": ratio,
            "purity": purity, "tracking_purity": tracking_purity, "meets_goal": bool(meets),
            "purity_difference_interval": interval, "purity_below_tracking": below,
            "meets_goal_within_interval": None if below is None else misses_met and not below,
            "matched_purity": _value((matched.get(f"target{segment}") or {}).get("purity")),
        }
    return out


def member_row(metric_files: Mapping[tuple[str, str], Mapping], member: Member, own_sample: str, max_miss_ratio: float) -> dict:
    """One network's figures: accuracy on every labelled sample, and on its own training
    sample the target segments against tracking and the efficiency of segments 0 and 9."""
    row = {"model": member.model, "train_sample": own_sample, "accuracy": {}, "accuracy_err": {}}
    for (finder, sample), data in sorted(metric_files.items()):
        if finder == member.model and "segments" in data:
            row["accuracy"][sample] = data["segments"]["accuracy"]["value"]
            row["accuracy_err"][sample] = _half_width(data["segments"]["accuracy"])
    own = metric_files[(member.model, own_sample)]
    row["targets"] = target_comparison(own, metric_files[(TRACKING, own_sample)], max_miss_ratio)
    row["meets_target_goal"] = all(t["meets_goal"] for t in row["targets"].values())
    within = [t["meets_goal_within_interval"] for t in row["targets"].values()]
    row["meets_target_goal_within_intervals"] = None if None in within else all(within)
    row["segment_efficiency"] = {str(s): own["segments"]["efficiency"][s]["value"] for s in REPORTED_SEGMENTS}
    return row


def spread_summary(values: Sequence[float]) -> dict:
    """Mean, standard error of the mean, standard deviation and spread (largest minus
    smallest) over seeds."""
    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0, "mean": None, "sem": None, "std": None, "spread": None, "min": None, "max": None}
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {
        "n": len(values), "mean": statistics.fmean(values), "sem": std / len(values) ** 0.5, "std": std,
        "spread": max(values) - min(values), "min": min(values), "max": max(values),
    }


def study_table(
    metric_files: Mapping[tuple[str, str], Mapping],
    study: Sequence[Member],
    train_samples: Mapping[str, str],
    max_miss_ratio: float = 0.5,
) -> dict:
    """The study as a document: ``seeds``, one object per seed with ``{model}_{sample}``
    accuracies as fractions and each model's figures; ``summary``, each accuracy's mean,
    standard error and spread over the seeds."""
    by_seed: dict[int, dict] = {}
    for member in study:
        row = member_row(metric_files, member, train_samples[member.base], max_miss_ratio)
        entry = by_seed.setdefault(member.seed, {"seed": member.seed})
        entry[member.base] = row
        for sample, accuracy in row["accuracy"].items():
            entry[f"{member.base}_{sample}"] = accuracy
    seeds = [by_seed[s] for s in sorted(by_seed)]
    models = list(dict.fromkeys(m.base for m in study))
    keys = [f"{base}_{sample}" for base, sample in accuracy_columns(seeds, models)]
    summary = {key: spread_summary([entry.get(key) for entry in seeds]) for key in keys}
    for base in models:
        rows = [entry[base] for entry in seeds if base in entry]
        summary[f"{base}_meets_target_goal"] = sum(row["meets_target_goal"] for row in rows)
        within = [row["meets_target_goal_within_intervals"] for row in rows]
        summary[f"{base}_meets_target_goal_within_intervals"] = None if None in within else sum(within)
        summary[f"{base}_matched_purity_above_tracking"] = sum(_matched_purity_above(row) for row in rows)
    return {"models": models, "seeds": seeds, "summary": summary}


def _matched_purity_above(row: Mapping) -> bool:
    """Whether the network's purity at tracking's efficiency is at least tracking's in every target."""
    return all(t["matched_purity"] is not None and t["matched_purity"] >= t["tracking_purity"] for t in row["targets"].values())


def accuracy_columns(seeds: Sequence[Mapping], models: Sequence[str]) -> list[tuple[str, str]]:
    """(model, sample) of every accuracy the study has, the models in their order, each
    one's samples sorted; read from the rows, never parsed back from a key ``{model}_{sample}``
    (a model's name may begin with another's)."""
    pairs = {(base, sample) for entry in seeds for base in models if base in entry for sample in entry[base]["accuracy"]}
    return sorted(pairs, key=lambda pair: (models.index(pair[0]), pair[1]))


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}"


def _accuracy_section(document: Mapping) -> list[str]:
    columns = accuracy_columns(document["seeds"], document["models"])
    keys = [f"{base}_{sample}" for base, sample in columns]
    lines = ["| seed | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for entry in document["seeds"]:
        cells = []
        for (base, sample), key in zip(columns, keys):
            row = entry.get(base)
            err = None if row is None else row["accuracy_err"].get(sample)
            cells.append("-" if key not in entry else f"{_pct(entry[key])} ± {_pct(err)}")
        lines.append(f"| {entry['seed']} | " + " | ".join(cells) + " |")
    summary = document["summary"]
    lines.append("| mean ± s.e. | " + " | ".join(f"{_pct(summary[k]['mean'], 2)} ± {_pct(summary[k]['sem'], 2)}" for k in keys) + " |")
    lines.append("| spread (max - min) | " + " | ".join(_pct(summary[k]["spread"], 2) for k in keys) + " |")
    return lines


def _targets_section(document: Mapping, base: str) -> list[str]:
    targets = [f"target{s}" for s in TARGET_SEGMENTS]
    header = ["seed", "own sample", *(f"segment {s}" for s in REPORTED_SEGMENTS)]
    header += [f"{t}: misses / tracking's" for t in targets] + [f"{t}: purity - tracking's" for t in targets] + ["goal met"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for entry in document["seeds"]:
        row = entry.get(base)
        if row is None:
            continue
        own = row["train_sample"]
        cells = [str(entry["seed"]), f"{own} {_pct(row['accuracy'][own])}"]
        cells += [_pct(row["segment_efficiency"][str(s)]) for s in REPORTED_SEGMENTS]
        cells += ["-" if row["targets"][t]["miss_ratio"] is None else f"{row['targets'][t]['miss_ratio']:.2f}" for t in targets]
        cells += [_purity_cell(row["targets"][t]) for t in targets]
        cells.append("yes" if row["meets_target_goal"] else "no")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _purity_cell(target: Mapping) -> str:
    """The purity less tracking's, and its paired 68 % interval where the metrics have it."""
    cell = f"{target['purity'] - target['tracking_purity']:+.3f}"
    interval = target.get("purity_difference_interval")
    return cell if interval is None else f"{cell} ({interval[0]:+.3f}, {interval[1]:+.3f})"


def _matched_section(document: Mapping, base: str) -> list[str]:
    targets = [f"target{s}" for s in TARGET_SEGMENTS]
    rows = [(entry["seed"], entry[base]) for entry in document["seeds"] if base in entry]
    above = document["summary"].get(f"{base}_matched_purity_above_tracking")
    lines = [
        "", "At the same efficiency as the track-based vertex (the network keeping only its most probable "
        "events in the target's segment), its purity less the track-based vertex's: at least tracking's in "
        f"all five targets in {above} of {len(rows)} seeds.", "",
        "| seed | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets),
    ]
    for seed, row in rows:
        lines.append(f"| {seed} | " + " | ".join(_matched_cell(row["targets"][t]) for t in targets) + " |")
    return lines


def _matched_cell(target: Mapping) -> str:
    if target.get("matched_purity") is None:
        return "-"
    return f"{target['matched_purity'] - target['tracking_purity']:+.3f}"


def markdown(document: Mapping, max_miss_ratio: float = 0.5) -> str:
    """The study as Markdown: accuracies per seed with their 68 % intervals, mean and spread;
    per model, segments 0 and 9 and the target segments against the track-based vertex, at
    the network's own working point and at the tracking's efficiency."""
    parts = ["# Seed study", "", "Segment accuracy (%) on each sample's test split, 68 % intervals:", ""]
    parts += _accuracy_section(document)
    summary = document["summary"]
    for base in document["models"]:
        met, n_seeds = summary[f"{base}_meets_target_goal"], sum(base in e for e in document["seeds"])
        within = summary.get(f"{base}_meets_target_goal_within_intervals")
        parts += [
            "", f"## {base}", "",
            f"Per-segment efficiency (%) and, in target segments 1-5, misses over the track-based vertex's "
            f"(goal <= {max_miss_ratio:g}) and purity less the track-based vertex's (goal >= 0; in brackets its "
            f"68 % interval from a paired bootstrap over the same events), on the model's own training "
            f"sample's test split. Goal met in all five targets: {met} of {n_seeds} seeds.",
        ]
        if within is not None:
            parts.append(
                f"With no purity below tracking's by more than its 68 % interval (and the misses as above): "
                f"{within} of {n_seeds} seeds."
            )
        parts.append("")
        parts += _targets_section(document, base)
        parts += _matched_section(document, base)
    return "\n".join(parts) + "\n"


def write_files(metric_paths, study: Sequence[Member], train_samples: Mapping[str, str], max_miss_ratio: float, *, json_out, markdown_out) -> dict:
    """What rule ``seed_study`` does: the table from the metric files, as JSON and Markdown."""
    from minerva_vertex import evaluation, safe_write

    document = study_table(evaluation.load_metric_files(metric_paths), study, train_samples, max_miss_ratio)
    safe_write.write_json(json_out, document)
    safe_write.write_text(markdown_out, markdown(document, max_miss_ratio))
    return document
