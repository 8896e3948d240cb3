"""Rule event_display: X/U/V views of the first events of a sample, true vertex marked."""

from minerva_vertex.job_log import job_log
from minerva_vertex.plots.event_display import event_display

with job_log(snakemake.log[0]):
    event_display(
        snakemake.input[0],
        snakemake.output[0],
        n_events=snakemake.params.n_events,
        cmap=snakemake.params.cmap,
        title=f"Sample {snakemake.wildcards.sample}",
    )
