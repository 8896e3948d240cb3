"""Rule domain_study_table: the domain study's metrics gathered per domain over seeds."""

from minerva_vertex import domain_table
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    domain_table.write_files(
        list(snakemake.input),
        snakemake.params.study,
        json_out=snakemake.output.json,
        markdown_out=snakemake.output.markdown,
        estimate=snakemake.params.estimate,
        n_resamples=snakemake.params.n_resamples,
        seed=snakemake.params.bootstrap_seed,
    )
