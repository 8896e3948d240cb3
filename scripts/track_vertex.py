"""Rule track_vertex: track-based vertex of one image file."""

import logging

from minerva_vertex import tracking, tracking_files

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
params = tracking.TrackingParams.from_config(snakemake.params.tracking)
arrays = tracking_files.track_vertex_file(snakemake.input[0], snakemake.output[0], params, progress=True)
summary = tracking_files.summarise(arrays)
logging.info(
    "%s: %d events, %d without a vertex", snakemake.input[0], summary["events"], summary["events_without_vertex"]
)
