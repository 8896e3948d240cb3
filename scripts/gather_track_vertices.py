"""Rule gather_track_vertices: one vertex file and a JSON summary per sample."""

import json
import logging

from minerva_vertex import tracking_files

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(message)s")
summary = tracking_files.gather_vertices(snakemake.input, snakemake.output.vertices, snakemake.output.summary)
logging.info("%s", json.dumps(summary))
