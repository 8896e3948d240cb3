"""ROOT hit files to x/u/v images with segment labels (HDF5, MINERvA's flat layout)."""


localrules:
    images_summary,


rule images:
    """One ROOT hit file to one HDF5 image file and its summary."""
    input:
        root_file,
    output:
        images=paths.images(RESULTS),
        summary=paths.images_file_summary(RESULTS),
    log:
        paths.log(RESULTS, "images", "{sample}", "{part}"),
    benchmark:
        paths.benchmark(RESULTS, "images", "{sample}", "{part}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        input=config["input"],
        # Every event of a sample of the variations is a test event.
        images=lambda wildcards: settings.result_part(
            config, "images", wc.images_settings(config, wildcards.sample)
        ),
        # The sample's `has_truth` if the config gives it; None: read it from the file.
        has_truth=lambda wildcards: wc.sample_entry(config, wildcards.sample).get(
            "has_truth"
        ),
    script:
        "../../scripts/make_images.py"


rule images_summary:
    """A sample's per-file image summaries added up; its event ids checked unique."""
    input:
        summaries=lambda wildcards: per_part(
            paths.images_file_summary, wildcards.sample
        ),
        images=lambda wildcards: per_part(paths.images, wildcards.sample),
    output:
        paths.images_summary(RESULTS),
    log:
        paths.log(RESULTS, "images_summary", "{sample}"),
    benchmark:
        paths.benchmark(RESULTS, "images_summary", "{sample}")
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/images_summary.py"
