"""Rule tracking_metrics: metrics of the track-based vertex on one sample's test split."""

import logging

from minerva_vertex import evaluation

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
result = evaluation.tracking_evaluation(snakemake.input.tracking, snakemake.input.images, snakemake.wildcards.sample)
evaluation.write_json(snakemake.output[0], result)
logging.info("%s: %d test events, truth %s", snakemake.wildcards.sample, result["n_events"], result["has_truth"])
