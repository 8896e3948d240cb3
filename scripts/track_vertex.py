"""Rule track_vertex: track-based vertex of the test events of one image file."""

import logging

from minerva_vertex import settings, tracking, tracking_files
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    params = tracking.TrackingParams.from_filled(settings.with_run_only(snakemake.params.tracking, snakemake.config, "tracking"))
    arrays = tracking_files.track_vertex_file(snakemake.input[0], snakemake.output[0], params, progress=True)
    summary = tracking_files.summarise(arrays)
    logging.info("%s: %d events, %d without a vertex", snakemake.input[0], summary["events"], summary["events_without_vertex"])
