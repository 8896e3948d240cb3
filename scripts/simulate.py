"""Rule simulate: one ROOT hit file of a simulated sample."""

import logging

from minerva_vertex.simulation import PhysicsModel, simulate_file

logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
job = snakemake.params.job
simulate_file(
    PhysicsModel.from_config(job["model"], job["model_name"]),
    n_events=job["events"],
    seed=job["seed"],
    part_index=job["part_index"],
    path=snakemake.output[0],
)
