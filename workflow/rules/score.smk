"""Scoring: every configured network scores the test split of every sample, file by file."""


rule score:
    """One network scores the test split of one image file."""
    input:
        images=paths.images(RESULTS),
        weights=paths.model_file(RESULTS, "weights.pt"),
    output:
        paths.scores(RESULTS),
    log:
        paths.log(RESULTS, "score", "{model}", "{sample}", "{part}"),
    benchmark:
        paths.benchmark(RESULTS, "score", "{model}", "{sample}", "{part}")
    conda:
        PIPELINE_ENV
    threads: config["scoring"]["threads"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=config["scoring"]["gpu"],
    params:
        # The batch size only bounds memory: it is read from the config by the script.
        device=config["scoring"]["device"],
        precision=config["scoring"]["precision"],
    script:
        "../../scripts/score.py"
