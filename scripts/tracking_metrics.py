"""Rule tracking_metrics: metrics of the track-based vertex on one sample's test split."""

from minerva_vertex import evaluation, safe_write
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    result = evaluation.tracking_evaluation(snakemake.input.tracking, snakemake.input.images, snakemake.wildcards.sample)
    safe_write.write_json(snakemake.output[0], result)
