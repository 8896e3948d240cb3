"""Rule metrics: metrics of one network on one sample's test split."""

import json
from pathlib import Path

from minerva_vertex import evaluation, safe_write
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    result = evaluation.model_evaluation(
        snakemake.input.scores,
        snakemake.input.images,
        snakemake.input.tracking,
        json.loads(Path(snakemake.input.tracking_metrics).read_text()),
        snakemake.wildcards.model,
        snakemake.params.kind,
        snakemake.wildcards.sample,
    )
    safe_write.write_json(snakemake.output[0], result)
