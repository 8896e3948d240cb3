"""Rule event_display: X/U/V views of the first events of a sample, true vertex marked."""

import logging

from minerva_vertex.plots.event_display import event_display

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
event_display(
    snakemake.input[0],
    snakemake.output[0],
    n_events=snakemake.params.n_events,
    cmap=snakemake.params.cmap,
    title=f"Sample {snakemake.wildcards.sample}",
)
logging.info("event display of %s written to %s", snakemake.input[0], snakemake.output[0])
