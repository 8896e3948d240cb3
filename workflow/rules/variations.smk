"""Systematic variations: every finder on shifted samples, the shifts and their totals.

The samples of the variations (minerva_vertex.variations) go through the stage rules like
any simulated sample (simulate, images, track_vertex, score); these rules gather the
shifts and plot them. `snakemake variations` builds them.
"""


localrules:
    variations,
    plot_variations,


rule variations:
    """Every output of the systematic variations."""
    input:
        targets.variation_targets(config),


rule variation_shifts:
    """Shift of every finder's efficiency and purity per variation; each knob's systematic."""
    input:
        unpack(variation_inputs),
    output:
        shifts=paths.variations_table(RESULTS, "shifts"),
        knobs=paths.variations_table(RESULTS, "knobs"),
        totals=paths.variations_table(RESULTS, "totals"),
        summary=report(
            paths.variations_table(RESULTS, "summary"),
            category="Systematic variations",
            subcategory="tables",
            labels={"model": "all", "sample": "variations", "target": "targets 1-5"},
            caption="../report/variations_summary.rst",
        ),
    log:
        paths.log(RESULTS, "variation_shifts"),
    benchmark:
        paths.benchmark(RESULTS, "variation_shifts")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        samples={name: sample.describe() for name, sample in VARIED.items()},
        sources={k: v["source"] for k, v in variations.section(config)["knobs"].items()},
        models=MODELS,
        replicas=variations.section(config)["bootstrap"],
    script:
        "../../scripts/variation_shifts.py"


rule plot_variations:
    """One panel per target: the one-sigma shift of each variation, finders side by side."""
    input:
        paths.variations_table(RESULTS, "shifts"),
    output:
        png=report(
            paths.plot_variations(RESULTS, "png"),
            category="Systematic variations",
            subcategory="{quantity}",
            labels={"model": "all", "sample": "variations", "target": "targets 1-5"},
            caption="../report/variations.rst",
        ),
        pdf=paths.plot_variations(RESULTS, "pdf"),
    log:
        paths.log(RESULTS, "plot_variations", "{quantity}"),
    benchmark:
        paths.benchmark(RESULTS, "plot_variations", "{quantity}")
    wildcard_constraints:
        quantity="purity|efficiency",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        relative=True,
        flat_band=0.01,
    script:
        "../../scripts/plot_variations.py"
