"""Shared helpers: config checks, sample files and the list of final targets."""

from minerva_vertex import workflow_config as wc

wc.check_config(config)

RESULTS = str(wc.results_dir(config))
SAMPLES = list(config["samples"])
SIMULATED_SAMPLES = [s for s in SAMPLES if wc.is_simulated(config, s)]
PIPELINE_ENV = "../../envs/pipeline.yaml"

# Each stage's rule file appends what `rule all` builds.
ALL_TARGETS = []


def sample_parts(sample):
    return wc.sample_parts(config, sample)


def root_file(wildcards):
    return wc.root_file(config, wildcards.sample, wildcards.part)


def per_part(pattern, sample):
    """Expand a path pattern with {sample} and {part} over one sample's files."""
    return expand(pattern, sample=sample, part=sample_parts(sample))
