"""Training of the configured networks (CNN and DANN), resumable from per-epoch checkpoints."""


localrules:
    plot_training_curve,


TRAINING = config.get("training", {})
TRAINED_MODELS = list(config.get("models") or {})


rule train:
    input:
        # Image files of the model's training sample and, for a DANN, its target sample.
        unpack(
            lambda wildcards: {
                role: per_part(f"{RESULTS}/images/{{sample}}/{{part}}.h5", sample)
                for role, sample in wc.training_samples(
                    config, wildcards.model
                ).items()
            }
        ),
    output:
        weights=f"{RESULTS}/models/{{model}}/weights.pt",
        config=f"{RESULTS}/models/{{model}}/config.yaml",
        metrics=f"{RESULTS}/models/{{model}}/metrics.csv",
    log:
        f"{RESULTS}/logs/train/{{model}}.log",
    wildcard_constraints:
        model="|".join(TRAINED_MODELS) if TRAINED_MODELS else "(?!)",
    # A job that runs out of time is resubmitted with more; it resumes from its checkpoint.
    retries: 2
    conda:
        PIPELINE_ENV
    threads: TRAINING.get("threads", 2)
    resources:
        mem_mb=TRAINING.get("mem_mb", 6000),
        runtime=lambda wildcards, attempt: TRAINING.get("runtime", 120) * attempt,
        gpu=TRAINING.get("gpu", 0),
    params:
        model=lambda wildcards: config["models"][wildcards.model],
        training=TRAINING,
        # Resumable state lives outside the outputs: a killed job resumes from it.
        checkpoint_dir=lambda wildcards: f"{RESULTS}/checkpoints/{wildcards.model}",
    script:
        "../../scripts/train.py"


rule plot_training_curve:
    input:
        f"{RESULTS}/models/{{model}}/metrics.csv",
    output:
        report(
            f"{RESULTS}/models/{{model}}/training_curve.png",
            caption="../report/training_curve.rst",
            category="Training",
            labels={"model": "{model}"},
        ),
    log:
        f"{RESULTS}/logs/plot_training_curve/{{model}}.log",
    wildcard_constraints:
        model="|".join(TRAINED_MODELS) if TRAINED_MODELS else "(?!)",
    conda:
        PIPELINE_ENV
    params:
        title=lambda wildcards: f"{wildcards.model} ({config['models'][wildcards.model]['kind']})",
        dpi=100,
        width_in=12.0,
    script:
        "../../scripts/plot_training_curve.py"


ALL_TARGETS.extend(
    f"{RESULTS}/models/{model}/{name}"
    for model in TRAINED_MODELS
    for name in ("weights.pt", "config.yaml", "metrics.csv", "training_curve.png")
)
