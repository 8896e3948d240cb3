"""The seed study: configured networks retrained from other seeds (minerva_vertex.seed_study).

The study's networks ({model}_seed{seed}) go through the ordinary train, score and metrics
rules; this rule gathers their metrics. `snakemake seed_study` builds it.
"""


localrules:
    seed_study,


rule seed_study:
    """Accuracy of every studied network per seed and sample, its target segments against
    the track-based vertex, and the mean and spread over seeds."""
    input:
        metrics=[
            paths.metrics(RESULTS, member.model, sample)
            for member in seed_study.members(config)
            for sample in SAMPLES
        ],
        tracking=[paths.metrics(RESULTS, "tracking", sample) for sample in SAMPLES],
    output:
        json=paths.seed_study(RESULTS, "json"),
        markdown=report(
            paths.seed_study(RESULTS, "md"),
            category="Seed study",
            labels={"model": "all", "sample": "all"},
            caption="../report/seed_study.rst",
        ),
    log:
        paths.log(RESULTS, "seed_study"),
    benchmark:
        paths.benchmark(RESULTS, "seed_study")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        members=[vars(member) for member in seed_study.members(config)],
        train_samples={
            name: entry["train_sample"] for name, entry in config["models"].items()
        },
        # The talk's first result, per target segment: at most half the track-based
        # vertex's misses (and a purity at least its).
        max_miss_ratio=0.5,
    script:
        "../../scripts/seed_study.py"
