"""Rule plot_accuracy_gap: accuracy on the source and the target sample of every finder."""

import json
from pathlib import Path

from minerva_vertex.job_log import job_log
from minerva_vertex.plots import accuracy_gap

with job_log(snakemake.log[0]):
    accuracy_gap.plot_accuracy_gap(
        json.loads(Path(snakemake.input[0]).read_text()),
        snakemake.output.png,
        snakemake.output.pdf,
        bar_width=snakemake.params.bar_width,
    )
