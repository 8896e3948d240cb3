"""Rule plot_variations: one panel per target, the shift of each variation, finders side by side."""

import pandas as pd

from minerva_vertex.job_log import job_log
from minerva_vertex.plots import variations

with job_log(snakemake.log[0]):
    variations.plot_variations(
        pd.read_csv(snakemake.input[0]),
        snakemake.output.png,
        snakemake.output.pdf,
        quantity=snakemake.wildcards.quantity,
        relative=snakemake.params.relative,
        flat_band=snakemake.params.flat_band,
    )
