"""Rule train: train one configured network and write its weights, config and metrics."""

import logging

import torch

from minerva_vertex import paths, settings, training
from minerva_vertex.job_log import job_log

# Snakemake deletes the log before each attempt: the attempts' logs are kept beside it.
with job_log(snakemake.log[0], attempts_path=paths.attempts_log(snakemake.log[0])):
    torch.set_num_threads(snakemake.threads)
    name = snakemake.wildcards.model
    result = training.train_to_files(
        name,
        training.TrainSettings.from_filled(snakemake.params.model, name),
        training.RunOptions.from_filled(settings.with_run_only(snakemake.params.run, snakemake.config, "training")),
        source_files=snakemake.input.source,
        target_files=snakemake.input.get("target", []),
        files=training.ModelFiles(
            weights=snakemake.output.weights,
            config=snakemake.output.config,
            metrics=snakemake.output.metrics,
            checkpoint_dir=snakemake.params.checkpoint_dir,
        ),
        init_weights=snakemake.input.get("init"),
    )
    best = result.metrics[result.best_epoch]
    logging.info(
        "%s: selected epoch %d of %d (source validation loss %.4f, accuracy %.4f); %s",
        name,
        result.best_epoch + 1,
        len(result.metrics),
        best["val_label_loss"],
        best["val_accuracy"],
        training.describe_resume(result),
    )
