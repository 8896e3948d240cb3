"""Rule variation_shifts: every finder's shifts on the samples of the variations."""

from minerva_vertex import systematics
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    params = snakemake.params
    inputs = systematics.inputs_from_named(snakemake.input, list(params.samples), params.models)
    table = systematics.measure(params.samples, inputs, replicas=params.replicas)
    systematics.write_outputs(
        table,
        params.sources,
        shifts_csv=snakemake.output.shifts,
        knobs_csv=snakemake.output.knobs,
        totals_csv=snakemake.output.totals,
        summary_md=snakemake.output.summary,
    )
