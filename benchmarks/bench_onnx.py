"""Scoring speed on the CPU: PyTorch as rule score runs it (channels-last, bf16 where the
CPU has it natively: ``scoring.scoring_compute``), PyTorch plain (contiguous fp32) and
onnxruntime running the exported ONNX file (fp32), on the same events and network, in one run.

    python benchmarks/bench_onnx.py                      # a fresh CNN, random sparse events
    python benchmarks/bench_onnx.py --kind dann --events 4096
    python benchmarks/bench_onnx.py --weights results/models/cnn/weights.pt \\
        --images 'results/images/simulation/*.h5'

Both engines get the same number of threads (PyTorch's intra-op threads, onnxruntime's
intra-op threads) and the same batches. Prints events/s of each, the ratios
against the scoring path measured in this run (above 1: faster than rule score), the
largest difference between the onnxruntime and plain fp32 logits, and the share of
predictions on which the scoring path agrees with fp32. Repeats alternate between the engines and each keeps its
best, since other work on the machine makes single timings noisy.
"""

from __future__ import annotations

import argparse
import copy
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from minerva_vertex import models, onnx_export, scoring, training
from minerva_vertex.devices import Compute


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(models.MODEL_CLASSES), default="cnn", help="network of a fresh model")
    parser.add_argument("--weights", help="a weights file of rule train instead of a fresh model")
    parser.add_argument("--images", help="glob of image files: their validation events instead of random ones")
    parser.add_argument("--events", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto", help="of the scoring path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def torch_pass(model: models.VertexCNN, batches, compute) -> tuple[float, np.ndarray]:
    """Seconds to score every batch (features, then the classifier) with ``compute``."""
    start = time.perf_counter()
    logits = [scoring.forward(model, views, compute)[1] for views in batches]
    return time.perf_counter() - start, torch.cat(logits).numpy()


def onnx_pass(session: onnxruntime.InferenceSession, batches) -> tuple[float, np.ndarray]:
    feeds = [dict(zip(onnx_export.INPUT_NAMES, (view.numpy() for view in views))) for views in batches]
    start = time.perf_counter()
    logits = [session.run([onnx_export.OUTPUT_NAME], feed)[0] for feed in feeds]
    return time.perf_counter() - start, np.concatenate(logits)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    if args.weights:
        model = training.load_model(args.weights)
    else:
        torch.manual_seed(0)
        model = models.build_model(args.kind).eval()
    if args.images:
        files = sorted(glob.glob(args.images))
        views = onnx_export.validation_events(files, model.channels, args.events)
        source = f"validation events of {len(files)} file(s)"
    else:
        views = onnx_export.example_events(model.channels, args.events, seed=1)
        source = "random sparse events"
    n_events = len(views[0])
    batches = [tuple(v[i : i + args.batch_size].contiguous() for v in views) for i in range(0, n_events, args.batch_size)]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        onnx_export.export_onnx(model, path, inputs=batches[0])
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        # A copy: laying a module out channels-last changes it in place.
        scoring_model, compute = scoring.scoring_compute(copy.deepcopy(model), args.precision)
        plain = Compute(torch.device("cpu"))
        engines = {
            f"pytorch, as rule score ({'channels-last, ' if compute.channels_last else ''}{compute.precision})":
                lambda batches: torch_pass(scoring_model, batches, compute),
            "pytorch, plain fp32": lambda batches: torch_pass(model, batches, plain),
            "onnxruntime, fp32": lambda batches: onnx_pass(session, batches),
        }
        for run in engines.values():  # one warm-up batch each: first calls allocate and pick kernels
            run(batches[:1])
        best, logits = dict.fromkeys(engines, float("inf")), {}
        for _ in range(args.repeats):
            for name, run in engines.items():
                seconds, logits[name] = run(batches)
                best[name] = min(best[name], seconds)

    rate = {engine: n_events / seconds for engine, seconds in best.items()}
    scoring_name, plain_name, onnx_name = engines
    print(f"{model.kind}, {n_events} {source}, batch {args.batch_size}, {args.threads} threads, CPU")
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; best of {args.repeats} alternating repeats")
    for engine, events_per_s in rate.items():
        print(f"  {engine:45s} {events_per_s:9.1f} events/s  ({best[engine]:.2f} s)"
              f"  {events_per_s / rate[scoring_name]:.2f} x rule score")
    print(f"  largest logit difference onnxruntime - plain fp32: {float(np.abs(logits[onnx_name] - logits[plain_name]).max()):.2e}")
    agree = float((logits[scoring_name].argmax(1) == logits[plain_name].argmax(1)).mean())
    print(f"  rule score's predicted segment = fp32's: {100 * agree:.2f} % of events")


if __name__ == "__main__":
    main()
