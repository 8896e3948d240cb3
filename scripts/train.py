"""Rule train: train one configured network and write its weights, config and metrics."""

import logging

import torch

from minerva_vertex import training
from minerva_vertex.job_log import job_log

# Appended: a resumed job keeps the log of the attempts before it.
with job_log(snakemake.log[0], append=True):
    torch.set_num_threads(snakemake.threads)
    result = training.train_to_files(
        snakemake.wildcards.model,
        snakemake.params.model,
        # The whole section: params.run, its result-changing part, is there for reruns only.
        snakemake.config["training"],
        source_files=snakemake.input.source,
        target_files=snakemake.input.get("target", []),
        checkpoint_dir=snakemake.params.checkpoint_dir,
        weights=snakemake.output.weights,
        config_out=snakemake.output.config,
        metrics_out=snakemake.output.metrics,
        init_weights=snakemake.input.get("init"),
    )
    best = result.metrics[result.best_epoch]
    logging.info(
        "%s: selected epoch %d of %d (source validation loss %.4f, accuracy %.4f); resumed from epoch %d",
        snakemake.wildcards.model,
        result.best_epoch + 1,
        len(result.metrics),
        best["val_label_loss"],
        best["val_accuracy"],
        result.resumed_from_epoch,
    )
