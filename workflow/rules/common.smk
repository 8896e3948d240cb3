"""Shared by all stages: configured names, path helpers (the Snakefile checks the config).

Paths come from minerva_vertex.paths (one function per artefact), settings from the
validated config (the schemas hold every default), final targets from
minerva_vertex.targets.
"""

import re

from minerva_vertex import comparisons, domain_study, paths, seed_study, settings
from minerva_vertex import targets, variations
from minerva_vertex import workflow_config as wc

RESULTS = str(paths.results_dir(config))
SAMPLES = list(config["samples"])
VARIED = variations.varied_samples(config)  # samples of the systematic variations
VARIED_SAMPLES = list(VARIED)
# Samples the domain study simulates beyond the configured ones (its scan, its target domains).
STUDY_SAMPLES = list(domain_study.study_samples(config))
SIMULATED_SAMPLES = [s for s in SAMPLES if wc.is_simulated(config, s)]
SIMULATED_SAMPLES += VARIED_SAMPLES + STUDY_SAMPLES
MODELS = list(config["models"])
# Every network the workflow can train: the configured ones and the studies'.
MODEL_ENTRIES = {
    **seed_study.model_entries(config),
    **domain_study.study_models(config),
}
STUDY_MODELS = [m for m in MODEL_ENTRIES if m not in MODELS]
DOMAIN_STUDY = domain_study.design(config)
FINDERS = comparisons.finders(config)
COMPARISONS = comparisons.resolve(config)
BIAS_SOURCE, BIAS_TARGET = comparisons.bias_samples(config)
ALL_METRICS = [paths.metrics(RESULTS, f, s) for f in FINDERS for s in SAMPLES]
PIPELINE_ENV = "../../envs/pipeline.yaml"


def one_of(names):
    """A wildcard pattern that matches exactly the given names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def sample_parts(sample):
    return wc.sample_parts(config, sample)


def per_part(path_of, sample, **names):
    """``path_of(RESULTS, ..., sample=sample, part=part)`` over one sample's files."""
    return [
        path_of(RESULTS, sample=sample, part=part, **names)
        for part in sample_parts(sample)
    ]


def root_file(wildcards):
    return wc.root_file(config, wildcards.sample, wildcards.part)


def metrics_of(comparison):
    """Metric files a configured comparison reads."""
    return [
        paths.metrics(RESULTS, f, s)
        for f in comparison.finders
        for s in comparison.samples
    ]


def training_inputs(wildcards):
    """Image files of the model's training sample and, for a DANN, its target sample; the
    weights of the model it starts from (`init_from`), if any."""
    inputs = {
        role: per_part(paths.images, sample)
        for role, sample in wc.training_samples(MODEL_ENTRIES[wildcards.model]).items()
    }
    init_from = MODEL_ENTRIES[wildcards.model].get("init_from")
    if init_from is not None:
        inputs["init"] = paths.model_file(RESULTS, "weights.pt", init_from)
    return inputs


def training_source_images(wildcards):
    """Image files of the model's training sample (its validation events check the ONNX export)."""
    sample = wc.training_samples(MODEL_ENTRIES[wildcards.model])["source"]
    return per_part(paths.images, sample)


def bias_scores(wildcards):
    """Score files of every model on the bias source and target samples, named by model."""
    return {
        f"{model}__{role}": per_part(paths.scores, sample, model=model)
        for model in MODELS
        for role, sample in (("source", BIAS_SOURCE), ("target", BIAS_TARGET))
    }


def variation_inputs(wildcards):
    """Files of every sample of the variations, named by sample and role
    (minerva_vertex.systematics.inputs_from_named reads them back)."""
    named = {}
    for sample in VARIED_SAMPLES:
        named[f"{sample}__images"] = per_part(paths.images, sample)
        named[f"{sample}__tracking"] = paths.track_vertices(RESULTS, sample)
        for model in MODELS:
            named[f"{sample}__scores__{model}"] = per_part(
                paths.scores, sample, model=model
            )
    return named
