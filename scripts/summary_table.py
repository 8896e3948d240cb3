"""Rule summary_table: the headline numbers of the run, CSV and Markdown."""

import json
from pathlib import Path

from minerva_vertex import evaluation
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    bias = json.loads(Path(snakemake.input.bias).read_text())
    frame = evaluation.summary_rows(evaluation.load_metric_files(snakemake.input.metrics), bias)
    evaluation.write_table(frame, snakemake.output.csv, snakemake.output.markdown, "Summary of the vertex finders")
