"""Plots, one rule per kind; each plot's settings live only in its rule's params."""


localrules:
    plot_confusion,
    plot_purity_targets,
    plot_purity_segments,
    plot_distributions,
    plot_accuracy_gap,


PLOTS = f"{RESULTS}/plots"


rule plot_confusion:
    input:
        f"{RESULTS}/metrics/{{finder}}/{{sample}}.json",
    output:
        png=report(
            f"{PLOTS}/confusion/{{finder}}/{{sample}}.png",
            category="Confusion matrices",
            subcategory="{sample}",
            labels={"model": "{finder}", "sample": "{sample}", "target": "all"},
            caption="../report/confusion.rst",
        ),
        pdf=f"{PLOTS}/confusion/{{finder}}/{{sample}}.pdf",
    log:
        f"{RESULTS}/logs/plot_confusion/{{finder}}/{{sample}}.log",
    wildcard_constraints:
        finder="[^/]+",
        sample="[^/]+",
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
    input:
        lambda wildcards: comparisons.comparison_metric_paths(
            RESULTS, COMPARISONS[wildcards.comparison]
        ),
    output:
        png=report(
            f"{PLOTS}/comparisons/{{comparison}}/targets.png",
            category="Purity and efficiency by target",
            subcategory="{comparison}",
            labels={
                "model": "comparison {comparison}",
                "sample": "see plot",
                "target": "see plot",
            },
            caption="../report/purity_targets.rst",
        ),
        pdf=f"{PLOTS}/comparisons/{{comparison}}/targets.pdf",
    log:
        f"{RESULTS}/logs/plot_purity_targets/{{comparison}}.log",
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
    input:
        lambda wildcards: comparisons.comparison_metric_paths(
            RESULTS, COMPARISONS[wildcards.comparison]
        ),
    output:
        png=report(
            f"{PLOTS}/comparisons/{{comparison}}/segments.png",
            category="Purity and efficiency by segment",
            subcategory="{comparison}",
            labels={
                "model": "comparison {comparison}",
                "sample": "see plot",
                "target": "all segments",
            },
            caption="../report/purity_segments.rst",
        ),
        pdf=f"{PLOTS}/comparisons/{{comparison}}/segments.pdf",
    log:
        f"{RESULTS}/logs/plot_purity_segments/{{comparison}}.log",
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
    input:
        lambda wildcards: [
            comparisons.metric_path(RESULTS, wildcards.finder, s) for s in SAMPLES
        ],
    output:
        png=report(
            f"{PLOTS}/distributions/{{finder}}.png",
            category="Segment distributions",
            subcategory="{finder}",
            labels={"model": "{finder}", "sample": "all", "target": "all"},
            caption="../report/distributions.rst",
        ),
        pdf=f"{PLOTS}/distributions/{{finder}}.pdf",
    log:
        f"{RESULTS}/logs/plot_distributions/{{finder}}.log",
    wildcard_constraints:
        finder="[^/]+",
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
    input:
        f"{RESULTS}/metrics/bias.json",
    output:
        png=report(
            f"{PLOTS}/accuracy_gap.png",
            category="Domain bias",
            subcategory="accuracy gap",
            labels={
                "model": "all",
                "sample": f"{BIAS_SOURCE} vs {BIAS_TARGET}",
                "target": "all",
            },
            caption="../report/accuracy_gap.rst",
        ),
        pdf=f"{PLOTS}/accuracy_gap.pdf",
    log:
        f"{RESULTS}/logs/plot_accuracy_gap.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        bar_width=0.38,
    script:
        "../../scripts/plot_accuracy_gap.py"


ALL_TARGETS.extend(
    expand(
        f"{PLOTS}/confusion/{{finder}}/{{sample}}.{{ext}}",
        finder=FINDERS,
        sample=SAMPLES,
        ext=["png", "pdf"],
    )
)
ALL_TARGETS.extend(
    expand(
        f"{PLOTS}/comparisons/{{comparison}}/{{kind}}.{{ext}}",
        comparison=COMPARISONS,
        kind=["targets", "segments"],
        ext=["png", "pdf"],
    )
)
ALL_TARGETS.extend(
    expand(
        f"{PLOTS}/distributions/{{finder}}.{{ext}}", finder=FINDERS, ext=["png", "pdf"]
    )
)
ALL_TARGETS.extend(expand(f"{PLOTS}/accuracy_gap.{{ext}}", ext=["png", "pdf"]))
