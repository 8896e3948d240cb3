"""Rule score: one network scores the test split of one image file."""

import logging

import torch

from minerva_vertex import devices, scoring, settings, training
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    device = devices.choose_device(snakemake.params.device)
    n = scoring.score_file(
        training.load_model(snakemake.input.weights, device),
        snakemake.input.images,
        snakemake.output[0],
        # Kept out of params: the batch size bounds memory and never changes a score.
        batch_size=settings.run_only(snakemake.config, "scoring")["batch_size"],
        model_name=snakemake.wildcards.model,
        progress=True,
        precision=snakemake.params.precision,
    )
    logging.info("%s: %d test events scored on %s", snakemake.input.images, n, device)
