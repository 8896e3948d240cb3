"""Plots, one rule per kind; each plot's settings live only in its rule's params."""


localrules:
    plot_confusion,
    plot_purity_targets,
    plot_purity_segments,
    plot_distributions,
    plot_accuracy_gap,
    plot_training_curve,


rule plot_confusion:
    """The slide-10 confusion matrices of one finder on one sample."""
    input:
        paths.metrics(RESULTS),
    output:
        png=report(
            paths.plot_confusion(RESULTS, "png"),
            category="Confusion matrices",
            subcategory="{sample}",
            labels={"model": "{finder}", "sample": "{sample}", "target": "all"},
            caption="../report/confusion.rst",
        ),
        pdf=paths.plot_confusion(RESULTS, "pdf"),
    log:
        paths.log(RESULTS, "plot_confusion", "{finder}", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_confusion", "{finder}", "{sample}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        cmap="viridis",
        log_min=-2.5,
        annotate=False,
    script:
        "../../scripts/plot_confusion.py"


rule plot_purity_targets:
    """Purity and efficiency by target and material, one comparison."""
    input:
        lambda wildcards: metrics_of(COMPARISONS[wildcards.comparison]),
    output:
        png=report(
            paths.plot_comparison(RESULTS, "targets", "png"),
            category="Purity and efficiency by target",
            subcategory="{comparison}",
            labels={
                "model": "comparison {comparison}",
                "sample": "see plot",
                "target": "see plot",
            },
            caption="../report/purity_targets.rst",
        ),
        pdf=paths.plot_comparison(RESULTS, "targets", "pdf"),
    log:
        paths.log(RESULTS, "plot_purity_targets", "{comparison}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_purity_targets", "{comparison}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        comparison=lambda wildcards: vars(COMPARISONS[wildcards.comparison]),
        spread=0.6,
    script:
        "../../scripts/plot_purity_targets.py"


rule plot_purity_segments:
    """Purity and efficiency by segment, one comparison."""
    input:
        lambda wildcards: metrics_of(COMPARISONS[wildcards.comparison]),
    output:
        png=report(
            paths.plot_comparison(RESULTS, "segments", "png"),
            category="Purity and efficiency by segment",
            subcategory="{comparison}",
            labels={
                "model": "comparison {comparison}",
                "sample": "see plot",
                "target": "all segments",
            },
            caption="../report/purity_segments.rst",
        ),
        pdf=paths.plot_comparison(RESULTS, "segments", "pdf"),
    log:
        paths.log(RESULTS, "plot_purity_segments", "{comparison}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_purity_segments", "{comparison}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        comparison=lambda wildcards: vars(COMPARISONS[wildcards.comparison]),
        spread=0.6,
    script:
        "../../scripts/plot_purity_segments.py"


rule plot_distributions:
    """One finder's predicted and true segment distributions on every sample."""
    input:
        lambda wildcards: [paths.metrics(RESULTS, wildcards.finder, s) for s in SAMPLES],
    output:
        png=report(
            paths.plot_distributions(RESULTS, "png"),
            category="Segment distributions",
            subcategory="{finder}",
            labels={"model": "{finder}", "sample": "all", "target": "all"},
            caption="../report/distributions.rst",
        ),
        pdf=paths.plot_distributions(RESULTS, "pdf"),
    log:
        paths.log(RESULTS, "plot_distributions", "{finder}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_distributions", "{finder}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        log_y=False,
    script:
        "../../scripts/plot_distributions.py"


rule plot_accuracy_gap:
    """Accuracy on the bias source and target samples of every finder, with intervals, and
    the share of the gap each adapted network closes."""
    input:
        bias=paths.bias(RESULTS),
        metrics=ALL_METRICS,
    output:
        png=report(
            paths.plot_accuracy_gap(RESULTS, "png"),
            category="Domain bias",
            subcategory="accuracy gap",
            labels={
                "model": "all",
                "sample": f"{BIAS_SOURCE} vs {BIAS_TARGET}",
                "target": "all",
            },
            caption="../report/accuracy_gap.rst",
        ),
        pdf=paths.plot_accuracy_gap(RESULTS, "pdf"),
    log:
        paths.log(RESULTS, "plot_accuracy_gap"),
    benchmark:
        paths.benchmark(RESULTS, "plot_accuracy_gap")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        offset=0.12,  # source and target points either side of the finder
    script:
        "../../scripts/plot_accuracy_gap.py"


rule plot_training_curve:
    """Losses, accuracies and domain figures per epoch of one model."""
    input:
        paths.model_file(RESULTS, "metrics.csv"),
    output:
        report(
            paths.model_file(RESULTS, "training_curve.png"),
            caption="../report/training_curve.rst",
            category="Training",
            labels={"model": "{model}"},
        ),
    log:
        paths.log(RESULTS, "plot_training_curve", "{model}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_training_curve", "{model}")
    conda:
        PIPELINE_ENV
    params:
        title=lambda wildcards: f"{wildcards.model} ({config['models'][wildcards.model]['kind']})",
        width_in=12.0,
    script:
        "../../scripts/plot_training_curve.py"
