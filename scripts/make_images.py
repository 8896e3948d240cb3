"""Rule `images`: one ROOT hit file to one HDF5 image file and its summary."""

import logging
import sys

from minerva_vertex import images

with open(snakemake.log[0], "w") as log:
    sys.stderr = log
    logging.basicConfig(stream=log, level=logging.INFO)
    summary = images.convert_file(
        snakemake.input[0],
        snakemake.output.images,
        sample=snakemake.wildcards.sample,
        input_config=snakemake.params.input,
        images_config=snakemake.params.images,
        has_truth=snakemake.params.has_truth,
        summary_path=snakemake.output.summary,
        progress=True,
    )
    logging.info("converted %s", summary)
