"""The domain study's table: per target domain, over seeds, what adaptation does.

Reads the metrics files of the study's networks (minerva_vertex.domain_study.design names
them) and gives, per domain, paired by seed (minerva_vertex.adaptation_stats):

- ``drop``: the CNN's accuracy on the source (simulation) test split minus on the target's;
- ``gap``: the oracle's accuracy on the target minus the CNN's, with its interval;
- ``share``: the share of the gap the DANN, MCC and the control close, with its bootstrap
  interval, or "no gap" where the gap's interval includes zero;
- ``versus_control`` and ``versus_cnn``: adapted minus control, adapted minus CNN, on the target;
- ``source_change``: each adapted network's (and the control's) accuracy on the source
  minus the CNN's (sourced domains: the scan's networks are not scored on the source);
- ``target_shifts`` and ``shrinkage``: per nuclear target, each finder's shift of
  efficiency and purity from the source to the target sample, and |adapted's| - |CNN's|.

Accuracies and differences are fractions in the JSON, points (%) in the Markdown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from minerva_vertex import adaptation_stats as st

NUCLEAR_TARGETS = tuple(f"target{t}" for t in range(1, 6))
CLOSERS = ("dann", "mcc", "control")  # whose share of the gap is reported
ADAPTED = ("dann", "mcc")
LABELS = {"cnn": "CNN", "oracle": "oracle", "dann": "DANN", "mcc": "MCC", "control": "control"}


def _accuracy(document: Mapping) -> float:
    return document["segments"]["accuracy"]["value"]


def _accuracies(metric_files: Mapping, models: Mapping[int, str], sample: str) -> dict | None:
    """seed -> accuracy of each seed's network on ``sample``; None where a seed's file is absent."""
    if any((model, sample) not in metric_files for model in models.values()):
        return None
    return {seed: _accuracy(metric_files[(model, sample)]) for seed, model in models.items()}


def _networks(study: Mapping, domain: str) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for row in study["networks"]:
        if row["domain"] == domain:
            out.setdefault(row["method"], {})[row["seed"]] = row["model"]
    return out


def _shifts(metric_files: Mapping, models: Mapping[int, str], source: str, target: str) -> dict | None:
    """seed -> adaptation_stats.target_shifts of the nuclear targets; None without both files."""
    if any((m, s) not in metric_files for m in models.values() for s in (source, target)):
        return None
    return {seed: st.target_shifts(metric_files[(m, source)], metric_files[(m, target)], NUCLEAR_TARGETS)
            for seed, m in models.items()}


def _bias(metric_files: Mapping, networks: Mapping, source: str, target: str) -> tuple[dict, dict]:
    shifts = {method: _shifts(metric_files, networks[method], source, target) for method in ("cnn", *CLOSERS)}
    over_seeds = {m: st.shifts_over_seeds(v) for m, v in shifts.items() if v is not None}
    shrinkage = {}
    if shifts["cnn"] is not None:
        shrinkage = {m: st.bias_shrinkage(shifts["cnn"], shifts[m]) for m in CLOSERS if shifts[m] is not None}
    return over_seeds, shrinkage


def domain_row(metric_files: Mapping, study: Mapping, domain: Mapping, **bootstrap) -> dict:
    """One domain's figures (see the module's docstring) from the metrics files."""
    networks, source, target = _networks(study, domain["name"]), study["source"], domain["sample"]
    on_target = {m: _accuracies(metric_files, networks[m], target) for m in networks}
    on_source = {m: _accuracies(metric_files, networks[m], source) for m in networks if m != "oracle"}
    cnn = on_target["cnn"]
    row = {**domain, "networks": networks, "accuracy": {"source": on_source, "target": on_target}}
    row["drop"] = st.paired_differences(on_source["cnn"], cnn, "CNN drop (source - target)")
    row["gap"] = st.gap(cnn, on_target["oracle"], bootstrap.get("confidence", st.CONFIDENCE))
    row["share"] = {m: st.share_closed(cnn, on_target[m], on_target["oracle"], **bootstrap) for m in CLOSERS}
    row["versus_control"] = {m: st.paired_differences(on_target[m], on_target["control"], f"{m} - control") for m in ADAPTED}
    row["versus_cnn"] = {m: st.paired_differences(on_target[m], cnn, f"{m} - CNN") for m in CLOSERS}
    row["source_change"] = {
        m: st.paired_differences(on_source[m], on_source["cnn"], f"{m} - CNN on the source")
        for m in CLOSERS if on_source.get(m) is not None
    }
    row["target_shifts"], row["shrinkage"] = _bias(metric_files, networks, source, target)
    return row


def study_table(metric_files: Mapping[tuple[str, str], Mapping], study: Mapping, **bootstrap) -> dict:
    """The study as a document: the design (``source``, ``seeds``) and one row per domain.
    ``bootstrap``: ``confidence``, ``n_resamples``, ``seed`` of adaptation_stats.share_closed."""
    rows = [domain_row(metric_files, study, domain, **bootstrap) for domain in study["domains"]]
    return {"source": study["source"], "seeds": study["seeds"], "confidence": bootstrap.get("confidence", st.CONFIDENCE),
            "domains": rows}


# --- Markdown ------------------------------------------------------------------------------
def _points(estimate: Mapping | None, *, interval: bool = False) -> str:
    """'0.70 ± 0.21' in points (± the standard error); the interval too if asked and known."""
    if estimate is None:
        return "-"
    text = f"{100 * estimate['mean']:+.2f}" + ("" if estimate["sem"] is None else f" ± {100 * estimate['sem']:.2f}")
    if interval and estimate.get("interval") is not None:
        low, high = estimate["interval"]
        text += f" [{100 * low:+.2f}, {100 * high:+.2f}]"
    return text


def _shift(domain: Mapping) -> str:
    if domain["direction"] is None:
        return "-"
    if domain["direction"] == "fsi":
        return f"FSI x {1 - domain['size']:g}"
    return f"k = {domain['size']:g}"


def _training(domain: Mapping) -> str:
    fraction = domain["training_fraction"]
    return "full recipe" if fraction == 1 else f"scaled down: {100 * fraction:g} % of the events"


def _gap_section(document: Mapping) -> list[str]:
    header = ["domain", "origin", "shift", "beyond MINERvA's uncertainties", "trainings", "CNN drop",
              "oracle gap [interval]", *(f"share closed: {LABELS[m]}" for m in CLOSERS)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for row in document["domains"]:
        cells = [row["name"], row["origin"], _shift(row), "yes" if row["beyond_minerva_uncertainties"] else "no",
                 _training(row), _points(row["drop"]), _points(row["gap"], interval=True)]
        cells += [row["share"][m]["label"] for m in CLOSERS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _differences_section(document: Mapping) -> list[str]:
    header = ["domain", *(f"{LABELS[m]} - control" for m in ADAPTED), *(f"{LABELS[m]} - CNN" for m in CLOSERS),
              *(f"{LABELS[m]} on the source" for m in CLOSERS)]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for row in document["domains"]:
        cells = [row["name"], *(_points(row["versus_control"][m]) for m in ADAPTED)]
        cells += [_points(row["versus_cnn"][m]) for m in CLOSERS]
        cells += [_points(row["source_change"].get(m)) for m in CLOSERS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _bias_section(row: Mapping) -> list[str]:
    finders = [m for m in ("cnn", *CLOSERS) if m in row["target_shifts"]]
    header = ["target", *(f"{LABELS[m]}: efficiency / purity shift" for m in finders),
              *(f"{LABELS[m]}: change of abs. shift" for m in row["shrinkage"])]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---|" * (len(header) - 1)]
    for target in NUCLEAR_TARGETS:
        cells = [target]
        cells += [" / ".join(_points(row["target_shifts"][m][target][q]) for q in st.QUANTITIES) for m in finders]
        cells += [" / ".join(_points(row["shrinkage"][m][target][q]) for q in st.QUANTITIES) for m in row["shrinkage"]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown(document: Mapping, estimate: Mapping | None = None) -> str:
    """The study as Markdown: the gap table, the paired differences and, per domain with
    the networks on both samples, the nuclear targets' shifts."""
    seeds = ", ".join(str(s) for s in document["seeds"])
    parts = [
        "# Domain-adaptation study", "",
        f"Seeds {seeds}; source sample `{document['source']}`. Accuracy differences in points (%), mean ± "
        f"standard error over seeds, paired by seed; intervals at {100 * document['confidence']:.0f} %: the "
        "gap's Student t, the share's bootstrap over seeds. \"no gap\": the gap's interval includes zero. "
        "Points beyond MINERvA's uncertainties show where adaptation starts to matter, not what data does.",
    ]
    if any(row["training_fraction"] < 1 for row in document["domains"]):
        parts += ["", "**Scaled-down trainings:** the scan's own points train their DANN, MCC, oracle and control "
                  "on a fraction of the recipe's events (column \"trainings\"); their shares are not those of the full recipe."]
    if estimate is not None:
        parts += ["", f"Estimated run time on 2 cores after the default run: {estimate['total'] / 60:.0f} min "
                  f"({estimate['networks']} networks to train)."]
    parts += ["", "## The gap and the share closed", ""] + _gap_section(document)
    parts += ["", "## Paired differences (points): on the target sample, and on the source sample", ""]
    parts += _differences_section(document)
    for row in document["domains"]:
        if row["target_shifts"]:
            parts += ["", f"## {row['name']}: shift from the source to the target sample per nuclear target", "",
                      "Efficiency / purity shift (points) of each finder, and the change of its absolute value "
                      "against the CNN's, paired by seed (negative: adaptation shrinks the bias an analysis "
                      "corrected with the simulation would carry).", ""]
            parts += _bias_section(row)
    return "\n".join(parts) + "\n"


def write_files(metric_paths: Sequence, study: Mapping, *, json_out, markdown_out, estimate=None, **bootstrap) -> dict:
    """What rule ``domain_study_table`` does: the table from the metrics files, JSON and Markdown."""
    from minerva_vertex import evaluation, safe_write

    document = study_table(evaluation.load_metric_files(metric_paths), study, **bootstrap)
    document["estimate"] = estimate
    safe_write.write_json(json_out, document)
    safe_write.write_text(markdown_out, markdown(document, estimate))
    return document
