"""Rule images: one ROOT hit file to one HDF5 image file and its summary."""

from minerva_vertex import images, settings
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    images.convert_file(
        snakemake.input[0],
        snakemake.output.images,
        sample=snakemake.wildcards.sample,
        input_config=snakemake.params.input,
        # Kept out of params (settings.RUN_ONLY): they never change what a job writes.
        images_config={**snakemake.params.images, **settings.run_only_part(snakemake.config, "images")},
        has_truth=snakemake.params.has_truth,
        summary_path=snakemake.output.summary,
        progress=True,
    )
