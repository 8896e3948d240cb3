"""ROOT hit files to x/u/v images with segment labels (HDF5, MINERvA's flat layout)."""


localrules:
    images_summary,


# Sample and part names never hold a slash.
IMAGE_NAME = "[^/]+"


rule images:
    input:
        root_file,
    output:
        images=f"{RESULTS}/images/{{sample}}/{{part}}.h5",
        summary=f"{RESULTS}/images/{{sample}}/{{part}}.summary.json",
    log:
        f"{RESULTS}/logs/images/{{sample}}/{{part}}.log",
    wildcard_constraints:
        sample=IMAGE_NAME,
        part=IMAGE_NAME,
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        input=config.get("input", {}),
        images=config.get("images", {}),
        # The sample's `has_truth` if the config gives it; None: read it from the file.
        has_truth=lambda wildcards: config["samples"][wildcards.sample].get("has_truth"),
    script:
        "../../scripts/make_images.py"


rule images_summary:
    input:
        lambda wildcards: per_part(
            f"{RESULTS}/images/{{sample}}/{{part}}.summary.json", wildcards.sample
        ),
    output:
        f"{RESULTS}/images/{{sample}}/summary.json",
    log:
        f"{RESULTS}/logs/images_summary/{{sample}}.log",
    wildcard_constraints:
        sample=IMAGE_NAME,
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../../scripts/images_summary.py"


ALL_TARGETS.extend(expand(f"{RESULTS}/images/{{sample}}/summary.json", sample=SAMPLES))
