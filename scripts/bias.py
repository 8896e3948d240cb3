"""Rule bias: domain bias of every finder between the source and the target sample."""

import logging

from minerva_vertex import evaluation

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
result = evaluation.bias_from_files(
    snakemake.input.metrics,
    snakemake.input.source_scores,
    snakemake.input.target_scores,
    snakemake.params.models,
    snakemake.params.source,
    snakemake.params.target,
    seed=snakemake.params.seed,
)
evaluation.write_json(snakemake.output[0], result)
logging.info("bias %s -> %s written", snakemake.params.source, snakemake.params.target)
