"""Rule seed_study: the studied networks' metrics gathered per seed."""

from minerva_vertex import seed_study
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    seed_study.write_files(
        [*snakemake.input.metrics, *snakemake.input.tracking],
        [seed_study.Member(**member) for member in snakemake.params.members],
        snakemake.params.train_samples,
        snakemake.params.max_miss_ratio,
        json_out=snakemake.output.json,
        markdown_out=snakemake.output.markdown,
    )
