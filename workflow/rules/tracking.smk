"""Track-based vertex: the classical baseline, from the same images the networks see."""

# Sample and part names never hold a slash: so tracking/{sample}.h5 (per sample) and
# tracking/{sample}/{part}.h5 (per file) cannot be confused.
SLASHLESS = "[^/]+"


rule track_vertex:
    input:
        f"{RESULTS}/images/{{sample}}/{{part}}.h5",
    output:
        f"{RESULTS}/tracking/{{sample}}/{{part}}.h5",
    log:
        f"{RESULTS}/logs/track_vertex/{{sample}}/{{part}}.log",
    wildcard_constraints:
        sample=SLASHLESS,
        part=SLASHLESS,
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        tracking=config.get("tracking", {}),
    script:
        "../../scripts/track_vertex.py"


rule gather_track_vertices:
    input:
        lambda wildcards: per_part(
            f"{RESULTS}/tracking/{{sample}}/{{part}}.h5", wildcards.sample
        ),
    output:
        vertices=f"{RESULTS}/tracking/{{sample}}.h5",
        summary=f"{RESULTS}/tracking/{{sample}}.summary.json",
    log:
        f"{RESULTS}/logs/gather_track_vertices/{{sample}}.log",
    wildcard_constraints:
        sample=SLASHLESS,
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/gather_track_vertices.py"


ALL_TARGETS.extend(
    expand(
        f"{RESULTS}/tracking/{{sample}}.{{ext}}",
        sample=SAMPLES,
        ext=["h5", "summary.json"],
    )
)
