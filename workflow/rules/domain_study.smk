"""The domain-adaptation study (minerva_vertex.domain_study): its networks and samples go
through the ordinary simulate, images, train and score rules; these rules evaluate the
samples it adds, gather the table and plot the scan. `snakemake domain_study` builds it.
"""


localrules:
    domain_study,
    domain_study_table,
    plot_domain_scan,


rule domain_study:
    """Every output of the domain-adaptation study."""
    input:
        paths.domain_study(RESULTS, "json"),
        paths.domain_study(RESULTS, "md"),
        paths.plot_domain_scan(RESULTS, "png"),
        paths.plot_domain_scan(RESULTS, "pdf"),


rule untracked_metrics:
    """Metrics of one network on a sample the domain study adds (no track-based vertex:
    nothing is compared with it)."""
    input:
        scores=lambda wildcards: per_part(
            paths.scores, wildcards.sample, model=wildcards.model
        ),
        images=lambda wildcards: per_part(paths.images, wildcards.sample),
    output:
        paths.metrics(RESULTS, finder="{model}"),
    log:
        paths.log(RESULTS, "untracked_metrics", "{model}", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "untracked_metrics", "{model}", "{sample}")
    wildcard_constraints:
        sample=one_of(STUDY_SAMPLES),
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        kind=lambda wildcards: MODEL_ENTRIES[wildcards.model]["kind"],
    script:
        "../../scripts/untracked_metrics.py"


rule domain_study_table:
    """Per target domain, over seeds: the CNN's drop, the oracle's gap, the share closed by
    the DANN, MCC and the control, paired differences and the nuclear targets' shifts.
    """
    input:
        [
            paths.metrics(RESULTS, model, sample)
            for model, sample in domain_study.metric_pairs(DOMAIN_STUDY)
        ],
    output:
        json=paths.domain_study(RESULTS, "json"),
        markdown=report(
            paths.domain_study(RESULTS, "md"),
            category="Domain study",
            labels={"model": "all", "sample": "target domains"},
            caption="../report/domain_study.rst",
        ),
    log:
        paths.log(RESULTS, "domain_study_table"),
    benchmark:
        paths.benchmark(RESULTS, "domain_study_table")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        study=DOMAIN_STUDY,
        estimate=domain_study.estimate(config) if DOMAIN_STUDY["domains"] else None,
        # The share's bootstrap over seeds: reproducible from its seed.
        n_resamples=10000,
        bootstrap_seed=0,
    script:
        "../../scripts/domain_study_table.py"


rule plot_domain_scan:
    """The oracle's gap and the share closed against the size of the shift."""
    input:
        paths.domain_study(RESULTS, "json"),
    output:
        png=report(
            paths.plot_domain_scan(RESULTS, "png"),
            category="Domain study",
            labels={"model": "all", "sample": "shift scan"},
            caption="../report/domain_scan.rst",
        ),
        pdf=paths.plot_domain_scan(RESULTS, "pdf"),
    log:
        paths.log(RESULTS, "plot_domain_scan"),
    benchmark:
        paths.benchmark(RESULTS, "plot_domain_scan")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/plot_domain_scan.py"
