"""Rule plot_accuracy_gap: accuracy on the source and the target sample of every finder."""

import json
from pathlib import Path

from minerva_vertex import evaluation
from minerva_vertex.job_log import job_log
from minerva_vertex.plots import accuracy_gap

with job_log(snakemake.log[0]):
    accuracy_gap.plot_accuracy_gap(
        json.loads(Path(snakemake.input.bias).read_text()),
        evaluation.load_metric_files(snakemake.input.metrics),
        snakemake.output.png,
        snakemake.output.pdf,
        offset=snakemake.params.offset,
    )
