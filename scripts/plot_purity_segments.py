"""Rule plot_purity_segments: purity and efficiency by segment, one comparison."""

from minerva_vertex import evaluation
from minerva_vertex.job_log import job_log
from minerva_vertex.plots import purity

with job_log(snakemake.log[0]):
    comparison = snakemake.params.comparison
    purity.plot_by_segment(
        evaluation.load_metric_files(snakemake.input),
        comparison["finders"],
        comparison["samples"],
        snakemake.output.png,
        snakemake.output.pdf,
        spread=snakemake.params.spread,
        title=f"({comparison['title']})",
    )
