"""Rule images_summary: a sample's per-file image summaries gathered into one, its event ids checked."""

import logging

from minerva_vertex import images
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    summary = images.gather_summaries(
        snakemake.input.summaries,
        snakemake.output[0],
        sample=snakemake.wildcards.sample,
        image_files=snakemake.input.images,
    )
    logging.info("%d files, %d events", summary["n_files"], summary["events_written"])
