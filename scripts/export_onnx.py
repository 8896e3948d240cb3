"""Rule export_onnx: one trained network as an ONNX file, checked against PyTorch."""

import logging

import torch

from minerva_vertex import onnx_export
from minerva_vertex.job_log import job_log

with job_log(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    done = onnx_export.export_weights(
        snakemake.input.weights,
        snakemake.output[0],
        image_files=snakemake.input.images,
        check_events=snakemake.params.check_events,
        atol=snakemake.params.atol,
    )
    logging.info(
        "%s (%s): exported with opset %d; onnxruntime matches PyTorch to %.3g on %d %s",
        snakemake.wildcards.model,
        done["kind"],
        done["opset"],
        done["max_abs_difference"],
        done["events"],
        done["source"],
    )
