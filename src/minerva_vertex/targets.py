"""Everything ``rule all`` builds for a validated config, in one list."""

from __future__ import annotations

from collections.abc import Mapping

from minerva_vertex import comparisons, paths, workflow_config

PLOT_FORMATS = ("png", "pdf")
TABLE_FORMATS = ("csv", "md")


def all_targets(config: Mapping) -> list[str]:
    """The final outputs of every stage: the run's simulated files, images, tracking,
    models, scores, metrics, tables and plots."""
    results = paths.results_dir(config)
    samples = list(config["samples"])
    finders = comparisons.finders(config)
    models = [f for f in finders if f != comparisons.TRACKING]
    sets = comparisons.resolve(config)
    parts = {sample: workflow_config.sample_parts(config, sample) for sample in samples}
    out = []
    for sample in samples:
        if workflow_config.is_simulated(config, sample):
            out += [paths.simulated_root(results, sample, part) for part in parts[sample]]
        out += [paths.event_display(results, sample), paths.images_summary(results, sample)]
        out += [paths.track_vertices(results, sample), paths.track_vertices_summary(results, sample)]
    out += [paths.model_file(results, name, model) for model in models for name in paths.MODEL_FILES]
    out += [paths.scores(results, m, s, part) for m in models for s in samples for part in parts[s]]
    out += [paths.metrics(results, f, s) for f in finders for s in samples]
    out += [paths.bias(results), *(paths.summary(results, ext) for ext in TABLE_FORMATS)]
    out += [paths.comparison_table(results, ext, name) for name in sets for ext in TABLE_FORMATS]
    for ext in PLOT_FORMATS:
        out += [paths.plot_confusion(results, ext, f, s) for f in finders for s in samples]
        out += [paths.plot_comparison(results, kind, ext, name) for name in sets for kind in ("targets", "segments")]
        out += [paths.plot_distributions(results, ext, f) for f in finders]
        out.append(paths.plot_accuracy_gap(results, ext))
    return out


def variation_targets(config: Mapping) -> list[str]:
    """The outputs of the systematic variations (``snakemake variations``): the tables and,
    per quantity, the plot; none without variations."""
    from minerva_vertex import variations

    if not variations.varied_samples(config):
        return []
    results = paths.results_dir(config)
    out = [paths.variations_table(results, name) for name in paths.VARIATION_TABLES]
    return out + [paths.plot_variations(results, ext, q) for q in ("purity", "efficiency") for ext in PLOT_FORMATS]
