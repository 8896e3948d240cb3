"""Rule score: one network scores the test split of one image file."""

import logging
from pathlib import Path

import torch

from minerva_vertex import scoring

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
torch.set_num_threads(snakemake.threads)
device = scoring.pick_device(snakemake.params.device)
model = scoring.load_model(Path(snakemake.input.weights).parent, device)
n = scoring.score_file(
    model,
    snakemake.input.images,
    snakemake.output[0],
    batch_size=snakemake.params.batch_size,
    model_name=snakemake.wildcards.model,
    progress=True,
)
logging.info("%s: %d test events scored on %s", snakemake.input.images, n, device)
