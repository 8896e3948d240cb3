"""Rule comparison_table: efficiency and purity of one configured comparison."""

import logging

from minerva_vertex import evaluation

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
comparison = snakemake.params.comparison
frame = evaluation.comparison_rows(
    evaluation.load_metric_files(snakemake.input), comparison["finders"], comparison["samples"], comparison["selections"]
)
evaluation.write_table(frame, snakemake.output.csv, snakemake.output.markdown, comparison["title"])
logging.info("%d rows", len(frame))
