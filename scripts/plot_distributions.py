"""Rule plot_distributions: one finder's segment distributions on every sample."""

from minerva_vertex import evaluation
from minerva_vertex.job_log import job_log
from minerva_vertex.plots import distributions

with job_log(snakemake.log[0]):
    files = evaluation.load_metric_files(snakemake.input)
    distributions.plot_distributions(
        snakemake.wildcards.finder,
        {sample: data for (_, sample), data in files.items()},
        snakemake.output.png,
        snakemake.output.pdf,
        log_y=snakemake.params.log_y,
    )
