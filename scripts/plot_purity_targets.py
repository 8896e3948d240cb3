"""Rule plot_purity_targets: purity and efficiency by target and material, one comparison."""

from minerva_vertex import evaluation
from minerva_vertex.comparisons import Comparison
from minerva_vertex.job_log import job_log
from minerva_vertex.plots import purity

with job_log(snakemake.log[0]):
    purity.plot_by_target(
        evaluation.load_metric_files(snakemake.input),
        Comparison(**snakemake.params.comparison),
        snakemake.output.png,
        snakemake.output.pdf,
        spread=snakemake.params.spread,
    )
