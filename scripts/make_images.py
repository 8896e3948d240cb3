"""Rule images: one ROOT hit file to one HDF5 image file and its summary."""

from minerva_vertex import images, rootio, settings
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    images.convert_file(
        snakemake.input[0],
        snakemake.output.images,
        images.ImagesConfig.from_filled(settings.with_run_only(snakemake.params.images, snakemake.config, "images")),
        spec=rootio.InputSpec.from_filled(snakemake.params.input),
        sample=images.Sample(snakemake.wildcards.sample, has_truth=snakemake.params.has_truth),
        summary_path=snakemake.output.summary,
        progress=True,
    )
