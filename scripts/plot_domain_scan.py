"""Rule plot_domain_scan: the gap and the share closed against the size of the shift."""

import json
from pathlib import Path

from minerva_vertex.job_log import job_log
from minerva_vertex.plots import domain_scan

with job_log(snakemake.log[0]):
    domain_scan.plot_scan(
        json.loads(Path(snakemake.input[0]).read_text()),
        snakemake.output.png,
        snakemake.output.pdf,
    )
