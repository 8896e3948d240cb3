"""Rule `images_summary`: a sample's per-file image summaries gathered into one."""

from minerva_vertex import images

with open(snakemake.log[0], "w") as log:
    summary = images.gather_summaries(snakemake.input, snakemake.output[0], sample=snakemake.wildcards.sample)
    print(f"{summary['n_files']} files, {summary['events_written']} events", file=log)
