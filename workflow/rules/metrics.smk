"""Metrics: per finder and sample (JSON), the domain bias, the summary and comparison tables."""


localrules:
    summary_table,
    comparison_table,


rule tracking_metrics:
    """Metrics of the track-based vertex on one sample's test split."""
    input:
        tracking=paths.track_vertices(RESULTS),
        images=lambda wildcards: per_part(paths.images, wildcards.sample),
    output:
        paths.metrics(RESULTS, finder="tracking"),
    log:
        paths.log(RESULTS, "tracking_metrics", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "tracking_metrics", "{sample}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../../scripts/tracking_metrics.py"


rule metrics:
    """Metrics of one network on one sample's test split, truth joined from the images."""
    input:
        scores=lambda wildcards: per_part(
            paths.scores, wildcards.sample, model=wildcards.model
        ),
        images=lambda wildcards: per_part(paths.images, wildcards.sample),
        tracking=paths.track_vertices(RESULTS),
        tracking_metrics=paths.metrics(RESULTS, finder="tracking"),
    output:
        paths.metrics(RESULTS, finder="{model}"),
    log:
        paths.log(RESULTS, "metrics", "{model}", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "metrics", "{model}", "{sample}")
    # The samples the domain study adds have no track-based vertex: rule untracked_metrics.
    wildcard_constraints:
        sample=one_of(SAMPLES + VARIED_SAMPLES),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        kind=lambda wildcards: MODEL_ENTRIES[wildcards.model]["kind"],
    script:
        "../../scripts/metrics.py"


rule bias:
    """Domain bias of every finder between the bias source and target samples."""
    input:
        unpack(bias_scores),
        metrics=ALL_METRICS,
    output:
        paths.bias(RESULTS),
    log:
        paths.log(RESULTS, "bias"),
    benchmark:
        paths.benchmark(RESULTS, "bias")
    conda:
        PIPELINE_ENV
    threads: 2
    resources:
        mem_mb=4000,
        runtime=20,
    params:
        source=BIAS_SOURCE,
        target=BIAS_TARGET,
        models=config["models"],
        seed=config["scoring"]["domain_auc_seed"],
    script:
        "../../scripts/bias.py"


rule summary_table:
    """The headline numbers of the run, CSV and Markdown."""
    input:
        metrics=ALL_METRICS,
        bias=paths.bias(RESULTS),
    output:
        csv=paths.summary(RESULTS, "csv"),
        markdown=paths.summary(RESULTS, "md"),
    log:
        paths.log(RESULTS, "summary_table"),
    benchmark:
        paths.benchmark(RESULTS, "summary_table")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/summary_table.py"


rule comparison_table:
    """Efficiency and purity of one configured comparison, CSV and Markdown."""
    input:
        lambda wildcards: metrics_of(COMPARISONS[wildcards.comparison]),
    output:
        csv=paths.comparison_table(RESULTS, "csv"),
        markdown=paths.comparison_table(RESULTS, "md"),
    log:
        paths.log(RESULTS, "comparison_table", "{comparison}"),
    benchmark:
        paths.benchmark(RESULTS, "comparison_table", "{comparison}")
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
