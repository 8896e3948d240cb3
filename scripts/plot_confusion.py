"""Rule plot_confusion: the slide-10 confusion matrices of one finder on one sample."""

import json
from pathlib import Path

from minerva_vertex.job_log import job_log
from minerva_vertex.plots import confusion

with job_log(snakemake.log[0]):
    data = json.loads(Path(snakemake.input[0]).read_text())
    confusion.plot_confusion(
        data,
        snakemake.output.png,
        snakemake.output.pdf,
        cmap=snakemake.params.cmap,
        log_min=snakemake.params.log_min,
        annotate=snakemake.params.annotate,
        title=f"{snakemake.wildcards.finder}, {snakemake.wildcards.sample}",
    )
