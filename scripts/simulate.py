"""Rule simulate: one ROOT hit file of a simulated sample."""

from minerva_vertex.job_log import job_log
from minerva_vertex.simulation import PhysicsModel, simulate_file

with job_log(snakemake.log[0]):
    job = snakemake.params.job
    simulate_file(
        PhysicsModel.from_config(job["model"], job["model_name"]),
        n_events=job["events"],
        seed=job["seed"],
        part_index=job["part_index"],
        path=snakemake.output[0],
    )
