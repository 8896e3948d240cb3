"""Rule metrics: metrics of one network on one sample's test split."""

import json
import logging
from pathlib import Path

from minerva_vertex import evaluation

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
result = evaluation.model_evaluation(
    snakemake.input.scores,
    snakemake.input.tracking,
    json.loads(Path(snakemake.input.tracking_metrics).read_text()),
    snakemake.wildcards.model,
    snakemake.params.kind,
    snakemake.wildcards.sample,
)
evaluation.write_json(snakemake.output[0], result)
logging.info("%s on %s: %d test events, truth %s", snakemake.wildcards.model, snakemake.wildcards.sample, result["n_events"], result["has_truth"])
