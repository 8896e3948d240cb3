"""Metric files of the workflow: read score, tracking and image files, write JSON and tables.

:mod:`minerva_vertex.metrics` holds the definitions (pure functions); this module feeds
them the test split of each sample and writes what the rules declare:

- ``metrics/{model}/{sample}.json`` (a network) and ``metrics/tracking/{sample}.json``
  (the track-based vertex): :func:`metrics.evaluate` plus, for a network, the purity
  ratio network / tracking per target and material selection;
- ``metrics/bias.json``: accuracy on each sample, the drop from the source (simulation)
  sample to the target (data-like) sample, the share of the source-only-to-oracle gap the
  DANN closes, predicted against true segment distributions, and the domain classifier's
  AUC on each network's features;
- the summary table (CSV and Markdown) and one table per comparison.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from minerva_vertex import geometry, image_contract, metrics, model_kinds, safe_write, score_files, tracking_files


def align(reference_ids: np.ndarray, ids: np.ndarray, what: str) -> np.ndarray:
    """Index into ``ids`` of each reference id; every reference id must be present."""
    if len(ids) == 0:
        found = np.zeros(len(reference_ids), dtype=bool)
        position = np.zeros(len(reference_ids), dtype=np.int64)
        order = position
    else:
        order = np.argsort(ids, kind="stable")
        position = np.clip(np.searchsorted(ids[order], reference_ids), 0, len(ids) - 1)
        found = ids[order][position] == reference_ids
    if not np.all(found):
        missing = reference_ids[~found][0]
        raise ValueError(f"{what}: event id {missing} of the test split is missing")
    return order[position]


def evaluate_finder(
    events: Mapping, ids, segments, what: str, vertices: Mapping | None = None, vertices_path=None, planecodes=None
) -> dict:
    """Metrics of one finder's segments (``ids``, ``segments``) on a sample's test events.

    The one join of every finder to the truth: by event id, against the test split read
    from the image files (:func:`image_contract.read_test_events`, which checks the ids
    unique). ``vertices``: the track-based vertices (read from ``vertices_path``), whose
    (x, y) assign shared targets. ``planecodes``: a plane-code network's predicted codes,
    which add ``targets_by_planecode`` (passive targets selected by their own code).
    """
    reference = events["eventids"]
    order = align(reference, np.asarray(ids), what)
    predicted = np.asarray(segments)[order]
    reco_xy = None
    if vertices is not None:
        index = align(reference, vertices["eventids"], str(vertices_path))
        reco_xy = (vertices["vtx_x"][index], vertices["vtx_y"][index])
    truth = image_contract.truth_of(events)
    result = metrics.evaluate(predicted, truth, reco_xy)
    if planecodes is not None and truth is not None:
        result["targets_by_planecode"] = metrics.target_metrics(predicted, truth, reco_xy, np.asarray(planecodes)[order])
    return result


def tracking_evaluation(tracking_path, image_paths: Sequence, sample: str) -> dict:
    """Metrics of the track-based vertex on the test split of a sample."""
    events = image_contract.read_test_events(image_paths)
    vertices = tracking_files.read_vertices(tracking_path)
    result = evaluate_finder(events, vertices["eventids"], vertices["segment"], str(tracking_path), vertices, tracking_path)
    return {"finder": "tracking", "kind": "tracking", "sample": sample, **result}


def model_evaluation(
    score_paths: Sequence, image_paths: Sequence, tracking_path, tracking_metrics: Mapping | None, model: str, kind: str, sample: str
) -> dict:
    """Metrics of a network on a sample; the tracked (x, y) split shared targets."""
    events = image_contract.read_test_events(image_paths)
    planecodes = score_files.has_planecodes(score_paths)
    scores = score_files.read_scores(score_paths, planecodes=planecodes)
    vertices = tracking_files.read_vertices(tracking_path) if tracking_path is not None else None
    what = f"scores of {model} on {sample}"
    found = evaluate_finder(
        events, scores["eventids"], scores["predicted"], what, vertices, tracking_path, scores.get("predicted_planecode")
    )
    result = {"finder": model, "kind": kind, "sample": sample, **found}
    if result["has_truth"] and tracking_metrics is not None and "targets" in tracking_metrics:
        result["purity_ratio_to_tracking"] = metrics.purity_ratios(result["targets"], tracking_metrics["targets"])
        # The network's answers in the order of the test events, aligned once for both comparisons.
        order = align(events["eventids"], scores["eventids"], what)
        probabilities, predicted = scores["probabilities"][order], scores["predicted"][order]
        truth = image_contract.truth_of(events)["segments"]
        result["purity_at_tracking_efficiency"] = at_tracking_efficiency(probabilities, predicted, truth, tracking_metrics)
        if vertices is not None:
            tracked = vertices["segment"][align(events["eventids"], vertices["eventids"], str(tracking_path))]
            result["purity_difference_to_tracking"] = purity_against_tracking(predicted, tracked, truth)
    return result


def purity_against_tracking(predicted, tracked, truth) -> dict:
    """Per target (``target{N}``): the network's purity in the target's segment less the
    track-based vertex's, on the same test events (the network's segments ``predicted``, the
    tracking's ``tracked`` and the ``truth``, all in one event order), with its paired 68 %
    interval (:func:`metrics.paired_purity_difference`)."""
    return {
        f"target{target}": metrics.paired_purity_difference(predicted, tracked, truth, segment)
        for target, segment in geometry.TARGET_SEGMENTS.items()
    }


def at_tracking_efficiency(probabilities, predicted, truth, tracking_metrics: Mapping) -> dict:
    """Per target (``target{N}``): the network's purity in the target's segment at the
    track-based vertex's efficiency there (:func:`metrics.purity_at_efficiency`; None where
    the network's own efficiency is lower), with that ``tracking_efficiency``. The network's
    ``probabilities`` and ``predicted`` segments and the ``truth`` are in one event order."""
    out = {}
    for target, segment in geometry.TARGET_SEGMENTS.items():
        efficiency = tracking_metrics["segments"]["efficiency"][segment]["value"]
        matched = None if efficiency is None else metrics.purity_at_efficiency(probabilities, predicted, truth, segment, efficiency)
        out[f"target{target}"] = None if matched is None else {"tracking_efficiency": efficiency, **matched}
    return out


def _accuracy(entry: Mapping | None):
    if not entry or "segments" not in entry:
        return None
    return entry["segments"]["accuracy"]["value"]


def model_roles(models_config: Mapping, source: str, target: str) -> dict[str, list[str]]:
    """Source-only CNNs, adapted networks (DANN and MCC, source -> target) and oracles (CNNs
    trained on the target). A finetune model, the control of an adapted one, takes none."""
    roles = {"source_only": [], "adapted": [], "oracle": []}
    for name, entry in models_config.items():
        kind, trained_on = entry.get("kind"), entry.get("train_sample")
        if kind == "cnn" and trained_on == source:
            roles["source_only"].append(name)
        elif model_kinds.takes_target(kind) and trained_on == source and entry.get("target_sample", target) == target:
            roles["adapted"].append(name)
        elif kind == "cnn" and trained_on == target:
            roles["oracle"].append(name)
    return roles


def bias_evaluation(
    metric_files: Mapping[tuple[str, str], Mapping],
    features: Mapping[str, tuple[np.ndarray, np.ndarray]],
    models_config: Mapping,
    source: str,
    target: str,
    *,
    seed: int = 0,
) -> dict:
    """Domain bias of every finder between the source and the target sample.

    ``metric_files``: (finder, sample) -> metrics JSON (finder 'tracking' included);
    ``features``: network -> (source features, target features) of the test events.
    """
    finders = sorted({finder for finder, _ in metric_files})
    samples = sorted({sample for _, sample in metric_files})
    result = {"source": source, "target": target, "finders": {}}
    for finder in finders:
        entry = {"accuracy": {}, "distributions": {}}
        for sample in samples:
            data = metric_files.get((finder, sample))
            if data is None:
                continue
            entry["accuracy"][sample] = _accuracy(data)
            dist = {"predicted": data["predicted_distribution"], "true": data.get("true_distribution")}
            dist["total_variation_to_truth"] = metrics.total_variation(dist["predicted"], dist["true"]) if dist["true"] else None
            entry["distributions"][sample] = dist
        on_source = entry["accuracy"].get(source)
        # Every other sample's drop, not the bias target's alone: a second comparison (say
        # data-like beside the bias target) reads its own from the summary.
        entry["accuracy_drops"] = {
            sample: on_source - value
            for sample, value in entry["accuracy"].items()
            if sample != source and on_source is not None and value is not None
        }
        entry["accuracy_drop"] = entry["accuracy_drops"].get(target)
        src_dist, tgt_dist = entry["distributions"].get(source), entry["distributions"].get(target)
        entry["predicted_shift"] = metrics.total_variation(src_dist["predicted"], tgt_dist["predicted"]) if src_dist and tgt_dist else None
        if finder in features:
            entry["domain_auc"] = metrics.domain_auc(*features[finder], seed=seed)
        result["finders"][finder] = entry
    roles = model_roles(models_config, source, target)
    result["roles"] = roles
    gaps = {}
    for adapted in roles["adapted"]:
        for source_only in roles["source_only"]:
            for oracle in roles["oracle"] or [None]:
                acc = lambda name: result["finders"].get(name, {}).get("accuracy", {}).get(target) if name else None  # noqa: E731
                gaps[f"{adapted} vs {source_only}" + (f" (oracle {oracle})" if oracle else "")] = {
                    "adapted": adapted,
                    "source_only": source_only,
                    "oracle": oracle,
                    "accuracy_gain": (acc(adapted) - acc(source_only)) if acc(adapted) is not None and acc(source_only) is not None else None,
                    "drop_reduction": _difference(result["finders"], source_only, adapted),
                    "gap_closed": metrics.gap_closed(acc(source_only), acc(adapted), acc(oracle)),
                }
    result["adaptation"] = gaps
    return result


def _difference(finders: Mapping, source_only: str, adapted: str):
    a, b = finders.get(source_only, {}).get("accuracy_drop"), finders.get(adapted, {}).get("accuracy_drop")
    return a - b if a is not None and b is not None else None


# --- tables --------------------------------------------------------------------------------
TARGET_HEADLINE = tuple(f"target{t}" for t in range(1, 6))


def _value(entry: Mapping | None):
    return None if entry is None else entry.get("value")


def summary_rows(metric_files: Mapping[tuple[str, str], Mapping], bias: Mapping) -> pd.DataFrame:
    """One row per finder and sample: the headline numbers of the run."""
    rows = []
    for (finder, sample), data in sorted(metric_files.items()):
        row = {"finder": finder, "kind": data.get("kind", ""), "sample": sample, "events": data["n_events"]}
        if "segments" in data:
            acc = data["segments"]["accuracy"]
            row["accuracy"] = acc["value"]
            row["accuracy_err"] = 0.5 * (acc["interval"][1] - acc["interval"][0])
            selections = data["targets"]["selections"]
            purities = [_value(selections[t]["purity"]) for t in TARGET_HEADLINE]
            efficiencies = [_value(selections[t]["efficiency"]) for t in TARGET_HEADLINE]
            row["target_purity_mean"] = _mean(purities)
            row["target_efficiency_mean"] = _mean(efficiencies)
            ratios = data.get("purity_ratio_to_tracking")
            row["purity_ratio_to_tracking"] = _mean([ratios.get(t) for t in TARGET_HEADLINE]) if ratios else None
        finder_bias = bias.get("finders", {}).get(finder, {})
        row["accuracy_drop"] = finder_bias.get("accuracy_drops", {}).get(sample)
        if sample == bias.get("target"):
            row["domain_auc"] = finder_bias.get("domain_auc", {}).get("auc")
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


SUMMARY_COLUMNS = (
    "finder", "kind", "sample", "events", "accuracy", "accuracy_err", "target_purity_mean",
    "target_efficiency_mean", "purity_ratio_to_tracking", "accuracy_drop", "domain_auc",
)


def _mean(values):
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def comparison_rows(metric_files: Mapping[tuple[str, str], Mapping], finders: Sequence[str], samples: Sequence[str], selections: Sequence[str]) -> pd.DataFrame:
    """Efficiency and purity of each finder, sample and selection of a comparison."""
    rows = []
    for sample in samples:
        for selection in selections:
            for finder in finders:
                data = metric_files.get((finder, sample))
                row = {"sample": sample, "selection": metrics.selection_label(selection), "finder": finder}
                if data is not None and "targets" in data:
                    entry = data["targets"]["selections"][selection]
                    for name in ("efficiency", "purity"):
                        low, high = entry[name]["interval"]
                        row.update({name: entry[name]["value"], f"{name}_low": low, f"{name}_high": high})
                    row["purity_ratio_to_tracking"] = data.get("purity_ratio_to_tracking", {}).get(selection)
                rows.append(row)
    return pd.DataFrame(rows)


def write_table(frame: pd.DataFrame, csv_path, markdown_path, title: str) -> None:
    """CSV (full precision) and Markdown (3 significant decimals) of a table."""
    safe_write.write_text(csv_path, frame.to_csv(index=False))
    safe_write.write_text(markdown_path, f"# {title}\n\n" + markdown(frame) + "\n")


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table without extra packages (pandas' to_markdown needs tabulate)."""

    def cell(value) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return "-"
        if isinstance(value, float):
            return f"{value:.3f}"
        return str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.astype(object).itertuples(index=False)]
    return "\n".join([header, rule, *body])


# --- file-level entry points of the rules ------------------------------------------------------
def load_metric_files(paths: Sequence) -> dict[tuple[str, str], dict]:
    """(finder, sample) -> metrics JSON, from the files' own 'finder' and 'sample' keys."""
    result = {}
    for path in paths:
        data = json.loads(Path(path).read_text())
        result[(data["finder"], data["sample"])] = data
    return result


def bias_from_files(
    metric_paths: Sequence,
    scores_by_model: Mapping[str, tuple[Sequence, Sequence]],
    models_config: Mapping,
    source: str,
    target: str,
    *,
    seed: int,
) -> dict:
    """:func:`bias_evaluation` from the rule's files; ``scores_by_model``: model -> (score
    files on the source sample, score files on the target sample)."""
    features = {
        model: tuple(score_files.read_scores(paths, features=True)["features"] for paths in (on_source, on_target))
        for model, (on_source, on_target) in scores_by_model.items()
        if source != target
    }
    return bias_evaluation(load_metric_files(metric_paths), features, models_config, source, target, seed=seed)
