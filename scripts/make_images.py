"""Rule images: one ROOT hit file to one HDF5 image file and its summary."""

from minerva_vertex import images
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    images.convert_file(
        snakemake.input[0],
        snakemake.output.images,
        sample=snakemake.wildcards.sample,
        input_config=snakemake.params.input,
        # chunk_events, kept out of params, bounds memory only.
        images_config={**snakemake.params.images, "chunk_events": snakemake.config["images"]["chunk_events"]},
        has_truth=snakemake.params.has_truth,
        summary_path=snakemake.output.summary,
        progress=True,
    )
