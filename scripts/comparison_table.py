"""Rule comparison_table: efficiency and purity of one configured comparison."""

from minerva_vertex import evaluation
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    comparison = snakemake.params.comparison
    frame = evaluation.comparison_rows(
        evaluation.load_metric_files(snakemake.input), comparison["finders"], comparison["samples"], comparison["selections"]
    )
    evaluation.write_table(frame, snakemake.output.csv, snakemake.output.markdown, comparison["title"])
