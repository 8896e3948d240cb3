"""Rule summary_table: the headline numbers of the run, CSV and Markdown."""

import json
import logging
from pathlib import Path

from minerva_vertex import evaluation

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
bias = json.loads(Path(snakemake.input.bias).read_text())
frame = evaluation.summary_rows(evaluation.load_metric_files(snakemake.input.metrics), bias)
evaluation.write_table(frame, snakemake.output.csv, snakemake.output.markdown, "Summary of the vertex finders")
logging.info("%d rows", len(frame))
