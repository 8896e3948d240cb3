"""Scoring: every configured network scores the test split of every sample, file by file."""

from minerva_vertex import comparisons

MODELS = [f for f in comparisons.finders(config) if f != comparisons.TRACKING]
SCORING = config.get("scoring", {})
# Model names are the configured ones, so metrics/{model}/... never matches tracking/...
MODEL_NAME = "|".join(MODELS) if MODELS else "(?!)"


rule score:
    input:
        images=f"{RESULTS}/images/{{sample}}/{{part}}.h5",
        weights=f"{RESULTS}/models/{{model}}/weights.pt",
    output:
        f"{RESULTS}/scores/{{model}}/{{sample}}/{{part}}.h5",
    log:
        f"{RESULTS}/logs/score/{{model}}/{{sample}}/{{part}}.log",
    wildcard_constraints:
        model=MODEL_NAME,
        sample="[^/]+",
        part="[^/]+",
    conda:
        PIPELINE_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=SCORING.get("gpus", 0),
    params:
        batch_size=SCORING.get("batch_size", 512),
        device=SCORING.get("device", "auto"),
    script:
        "../../scripts/score.py"


ALL_TARGETS.extend(
    f"{RESULTS}/scores/{model}/{sample}/{part}.h5"
    for model in MODELS
    for sample in SAMPLES
    for part in sample_parts(sample)
)
