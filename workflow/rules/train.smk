"""Training of the configured networks (CNN and DANN), resumable from per-epoch checkpoints,
and their ONNX export."""


# Seconds of work each: not worth a cluster job's queueing.
localrules:
    export_onnx,


rule train:
    """Train one network; a killed job resumes from its checkpoint."""
    input:
        unpack(training_inputs),
    output:
        weights=paths.model_file(RESULTS, "weights.pt"),
        config=paths.model_file(RESULTS, "config.yaml"),
        metrics=paths.model_file(RESULTS, "metrics.csv"),
    log:
        paths.log(RESULTS, "train", "{model}"),
    benchmark:
        paths.benchmark(RESULTS, "train", "{model}")
    # A job that runs out of time is resubmitted with more; it resumes from its checkpoint.
    retries: 2
    conda:
        PIPELINE_ENV
    threads: config["training"]["threads"]
    resources:
        mem_mb=config["training"]["mem_mb"],
        runtime=lambda wildcards, attempt: config["training"]["runtime"] * attempt,
        gpu=config["training"]["gpu"],
    params:
        # Only what changes the weights: the model's settings (defaults filled by the
        # Snakefile's validation) and the result-changing run options.
        model=lambda wildcards: MODEL_ENTRIES[wildcards.model],
        run=settings.result_part(config, "training"),
        # Resumable state lives outside the outputs: a killed job resumes from it.
        checkpoint_dir=lambda wildcards: paths.checkpoints(RESULTS, wildcards.model),
    script:
        "../../scripts/train.py"


rule export_onnx:
    """ONNX file of one trained network, checked against PyTorch on its validation events."""
    input:
        weights=paths.model_file(RESULTS, "weights.pt"),
        images=training_source_images,
    output:
        paths.model_file(RESULTS, "model.onnx"),
    log:
        paths.log(RESULTS, "export_onnx", "{model}"),
    benchmark:
        paths.benchmark(RESULTS, "export_onnx", "{model}")
    conda:
        PIPELINE_ENV
    threads: 2
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        # The first validation events of the training sample; onnxruntime must match PyTorch on them.
        check_events=64,
        atol=1e-4,
    script:
        "../../scripts/export_onnx.py"
