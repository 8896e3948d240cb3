"""Scoring speed on the CPU: PyTorch (the scoring path's no_grad forward, fp32) against
onnxruntime running the exported ONNX file, on the same events and network, in one run.

    python benchmarks/bench_onnx.py                      # a fresh CNN, random sparse events
    python benchmarks/bench_onnx.py --kind dann --events 4096
    python benchmarks/bench_onnx.py --weights results/models/cnn/weights.pt \\
        --images 'results/images/simulation/*.h5'

Both engines get the same number of threads (PyTorch's intra-op threads, onnxruntime's
intra-op threads) and the same batches. Prints events/s of each, the ratio
onnxruntime / PyTorch measured in this run (above 1: onnxruntime is faster), and the largest
difference between their logits. Repeats alternate between the engines and each keeps its
best, since other work on the machine makes single timings noisy.
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from minerva_vertex import models, onnx_export, training


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=sorted(models.MODEL_CLASSES), default="cnn", help="network of a fresh model")
    parser.add_argument("--weights", help="a weights file of rule train instead of a fresh model")
    parser.add_argument("--images", help="glob of image files: their validation events instead of random ones")
    parser.add_argument("--events", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def torch_pass(model: models.VertexCNN, batches) -> tuple[float, np.ndarray]:
    """Seconds to score every batch as rule score does (features, then the classifier)."""
    start = time.perf_counter()
    with torch.no_grad():
        logits = [model.classify(model.features(*views)) for views in batches]
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

        # One warm-up batch each: first calls allocate and pick kernels.
        torch_pass(model, batches[:1])
        onnx_pass(session, batches[:1])
        best = {"pytorch": float("inf"), "onnxruntime": float("inf")}
        for _ in range(args.repeats):
            seconds, torch_logits = torch_pass(model, batches)
            best["pytorch"] = min(best["pytorch"], seconds)
            seconds, onnx_logits = onnx_pass(session, batches)
            best["onnxruntime"] = min(best["onnxruntime"], seconds)

    rate = {engine: n_events / seconds for engine, seconds in best.items()}
    print(f"{model.kind}, {n_events} {source}, batch {args.batch_size}, {args.threads} threads, fp32, CPU")
    print(f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}; best of {args.repeats} alternating repeats")
    for engine, events_per_s in rate.items():
        print(f"  {engine:12s} {events_per_s:9.1f} events/s  ({best[engine]:.2f} s)")
    print(f"  ratio onnxruntime / pytorch: {rate['onnxruntime'] / rate['pytorch']:.2f}")
    print(f"  largest logit difference: {float(np.abs(onnx_logits - torch_logits).max()):.2e}")


if __name__ == "__main__":
    main()
