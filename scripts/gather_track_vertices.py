"""Rule gather_track_vertices: one vertex file and a JSON summary per sample."""

from minerva_vertex import tracking_files
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    tracking_files.gather_vertices(snakemake.input, snakemake.output.vertices, snakemake.output.summary)
