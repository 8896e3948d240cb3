"""Toy MINERvA simulation: ROOT hit files of the configured samples, and event displays."""


localrules:
    event_display,


rule simulate:
    """One ROOT hit file of a simulated sample."""
    output:
        paths.simulated_root(RESULTS),
    log:
        paths.log(RESULTS, "simulate", "{sample}", "{part}"),
    benchmark:
        paths.benchmark(RESULTS, "simulate", "{sample}", "{part}")
    wildcard_constraints:
        sample=one_of(SIMULATED_SAMPLES),
        part=r"part\d+",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        job=lambda wildcards: wc.simulation_job(
            config, wildcards.sample, wildcards.part
        ),
    script:
        "../../scripts/simulate.py"


rule event_display:
    """X, U and V views of a sample's first events, true vertex marked."""
    input:
        # The sample's first ROOT file (simulated or given).
        lambda wildcards: wc.root_file(
            config, wildcards.sample, sample_parts(wildcards.sample)[0]
        ),
    output:
        report(
            paths.event_display(RESULTS),
            category="Event displays",
            caption="../report/event_display.rst",
        ),
    log:
        paths.log(RESULTS, "event_display", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "event_display", "{sample}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        n_events=4,
        cmap="viridis",
    script:
        "../../scripts/event_display.py"
