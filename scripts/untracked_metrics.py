"""Rule untracked_metrics: metrics of one network on a sample without a track-based vertex."""

from minerva_vertex import evaluation, safe_write
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    result = evaluation.model_evaluation(
        snakemake.input.scores,
        snakemake.input.images,
        None,
        None,
        snakemake.wildcards.model,
        snakemake.params.kind,
        snakemake.wildcards.sample,
    )
    safe_write.write_json(snakemake.output[0], result)
