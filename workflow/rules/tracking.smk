"""Track-based vertex: the classical baseline, from the same images the networks see."""


rule track_vertex:
    """Track-based vertex of the test events of one image file."""
    input:
        paths.images(RESULTS),
    output:
        paths.track_vertices_part(RESULTS),
    log:
        paths.log(RESULTS, "track_vertex", "{sample}", "{part}"),
    benchmark:
        paths.benchmark(RESULTS, "track_vertex", "{sample}", "{part}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        tracking=settings.result_part(config, "tracking"),
    script:
        "../../scripts/track_vertex.py"


rule gather_track_vertices:
    """One vertex file and a JSON summary per sample."""
    input:
        lambda wildcards: per_part(paths.track_vertices_part, wildcards.sample),
    output:
        vertices=paths.track_vertices(RESULTS),
        summary=paths.track_vertices_summary(RESULTS),
    log:
        paths.log(RESULTS, "gather_track_vertices", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "gather_track_vertices", "{sample}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/gather_track_vertices.py"
