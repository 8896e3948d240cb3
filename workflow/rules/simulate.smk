"""Toy MINERvA simulation: ROOT hit files of the configured samples, and event displays."""


localrules:
    event_display,


rule simulate:
    output:
        f"{RESULTS}/simulated/{{sample}}/{{part}}.root",
    log:
        f"{RESULTS}/logs/simulate/{{sample}}/{{part}}.log",
    wildcard_constraints:
        sample="|".join(SIMULATED_SAMPLES) or "(?!)",
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
    input:
        # The sample's first ROOT file (simulated or given).
        lambda wildcards: wc.root_file(
            config, wildcards.sample, sample_parts(wildcards.sample)[0]
        ),
    output:
        report(
            f"{RESULTS}/event_displays/{{sample}}.png",
            category="Event displays",
            caption="../report/event_display.rst",
        ),
    log:
        f"{RESULTS}/logs/event_display/{{sample}}.log",
    wildcard_constraints:
        sample="|".join(SAMPLES),
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


for _sample in SIMULATED_SAMPLES:
    ALL_TARGETS.extend(
        per_part(f"{RESULTS}/simulated/{{sample}}/{{part}}.root", _sample)
    )
ALL_TARGETS.extend(expand(f"{RESULTS}/event_displays/{{sample}}.png", sample=SAMPLES))
