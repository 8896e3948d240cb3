"""Metrics: per finder and sample (JSON), the domain bias, the summary and comparison tables."""


localrules:
    summary_table,
    comparison_table,


FINDERS = comparisons.finders(config)
BIAS_SOURCE, BIAS_TARGET = comparisons.bias_samples(config)
COMPARISONS = comparisons.resolve(config)


ALL_METRICS = [comparisons.metric_path(RESULTS, f, s) for f in FINDERS for s in SAMPLES]
# Score files of every part of a sample, per model.
MODEL_SCORES = {
    (m, s): per_part(f"{RESULTS}/scores/{m}/{{sample}}/{{part}}.h5", s)
    for m in MODELS
    for s in SAMPLES
}


rule tracking_metrics:
    input:
        tracking=f"{RESULTS}/tracking/{{sample}}.h5",
        images=lambda wildcards: per_part(
            f"{RESULTS}/images/{{sample}}/{{part}}.h5", wildcards.sample
        ),
    output:
        f"{RESULTS}/metrics/tracking/{{sample}}.json",
    log:
        f"{RESULTS}/logs/tracking_metrics/{{sample}}.log",
    wildcard_constraints:
        sample="[^/]+",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/tracking_metrics.py"


rule metrics:
    input:
        scores=lambda wildcards: MODEL_SCORES[(wildcards.model, wildcards.sample)],
        tracking=f"{RESULTS}/tracking/{{sample}}.h5",
        tracking_metrics=f"{RESULTS}/metrics/tracking/{{sample}}.json",
    output:
        f"{RESULTS}/metrics/{{model}}/{{sample}}.json",
    log:
        f"{RESULTS}/logs/metrics/{{model}}/{{sample}}.log",
    wildcard_constraints:
        model=MODEL_NAME,
        sample="[^/]+",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        kind=lambda wildcards: config["models"][wildcards.model].get("kind", ""),
    script:
        "../../scripts/metrics.py"


rule bias:
    input:
        metrics=ALL_METRICS,
        source_scores=[f for m in MODELS for f in MODEL_SCORES[(m, BIAS_SOURCE)]],
        target_scores=[f for m in MODELS for f in MODEL_SCORES[(m, BIAS_TARGET)]],
    output:
        f"{RESULTS}/metrics/bias.json",
    log:
        f"{RESULTS}/logs/bias.log",
    conda:
        PIPELINE_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        source=BIAS_SOURCE,
        target=BIAS_TARGET,
        models=config.get("models", {}),
        seed=SCORING.get("domain_auc_seed", 0),
    script:
        "../../scripts/bias.py"


rule summary_table:
    input:
        metrics=ALL_METRICS,
        bias=f"{RESULTS}/metrics/bias.json",
    output:
        csv=f"{RESULTS}/summary.csv",
        markdown=f"{RESULTS}/summary.md",
    log:
        f"{RESULTS}/logs/summary_table.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/summary_table.py"


rule comparison_table:
    input:
        lambda wildcards: comparisons.comparison_metric_paths(
            RESULTS, COMPARISONS[wildcards.comparison]
        ),
    output:
        csv=f"{RESULTS}/comparisons/{{comparison}}.csv",
        markdown=f"{RESULTS}/comparisons/{{comparison}}.md",
    log:
        f"{RESULTS}/logs/comparison_table/{{comparison}}.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        comparison=lambda wildcards: vars(COMPARISONS[wildcards.comparison]),
    script:
        "../../scripts/comparison_table.py"


ALL_TARGETS.extend(ALL_METRICS)
ALL_TARGETS.extend(
    [f"{RESULTS}/metrics/bias.json", f"{RESULTS}/summary.csv", f"{RESULTS}/summary.md"]
)
ALL_TARGETS.extend(
    expand(
        f"{RESULTS}/comparisons/{{comparison}}.{{ext}}",
        comparison=COMPARISONS,
        ext=["csv", "md"],
    )
)
