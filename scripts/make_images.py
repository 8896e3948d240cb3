"""Rule images: one ROOT hit file to one HDF5 image file and its summary."""

from minerva_vertex import images, settings
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    images.convert_file(
        snakemake.input[0],
        snakemake.output.images,
        sample=snakemake.wildcards.sample,
        input_config=snakemake.params.input,
        images_config=settings.with_run_only(snakemake.params.images, snakemake.config, "images"),
        has_truth=snakemake.params.has_truth,
        summary_path=snakemake.output.summary,
        progress=True,
    )
