"""Rule plot_training_curve: losses, accuracies and domain figures per epoch."""

import pandas as pd

from minerva_vertex.job_log import job_log
from minerva_vertex.plots.training_curves import plot_training_curves

with job_log(snakemake.log[0]):
    plot_training_curves(
        pd.read_csv(snakemake.input[0]),
        snakemake.output[0],
        title=snakemake.params.title,
        width_in=snakemake.params.width_in,
    )
