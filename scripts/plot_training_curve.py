"""Rule plot_training_curve: losses, accuracies and domain figures per epoch."""

import pandas as pd

from minerva_vertex.plots.training_curves import plot_training_curves

plot_training_curves(
    pd.read_csv(snakemake.input[0]),
    snakemake.output[0],
    title=snakemake.params.title,
    dpi=snakemake.params.dpi,
    width_in=snakemake.params.width_in,
)
