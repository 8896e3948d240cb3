"""Rule bias: domain bias of every finder between the source and the target sample."""

from minerva_vertex import evaluation, safe_write
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    params = snakemake.params
    scores = {model: (snakemake.input[f"{model}__source"], snakemake.input[f"{model}__target"]) for model in params.models}
    result = evaluation.bias_from_files(
        snakemake.input.metrics, scores, params.models, params.source, params.target, seed=params.seed
    )
    safe_write.write_json(snakemake.output[0], result)
