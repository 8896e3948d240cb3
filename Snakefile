"""MINERvA deep-learning vertex finding, end to end. See README.md."""

import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")

# The package lives in src/; importable without installation so a bare checkout works.
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from minerva_vertex.config_validation import check_or_exit


configfile: "config/config.yaml"


# Schema (defaults filled in) and cross-checks; a bad key ends the run with one line naming it.
check_or_exit(config)


include: "workflow/rules/common.smk"


# One set of wildcard constraints for every rule: names are the configured ones.
wildcard_constraints:
    sample=one_of(SAMPLES + VARIED_SAMPLES + STUDY_SAMPLES),
    part="[^/]+",
    model=one_of(MODELS + STUDY_MODELS),
    finder=one_of(FINDERS + STUDY_MODELS),
    comparison=one_of(COMPARISONS),


include: "workflow/rules/simulate.smk"
include: "workflow/rules/images.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/score.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/variations.smk"
include: "workflow/rules/seed_study.smk"
include: "workflow/rules/domain_study.smk"


rule all:
    """Every output of the configured run (minerva_vertex.targets)."""
    default_target: True
    input:
        targets.all_targets(config),
