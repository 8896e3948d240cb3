"""Training throughput of the CNN and the DANN: the pipeline's training code against a
minimal plain PyTorch loop of the same model on the same data, in the same run.

    python benchmarks/bench_training.py                 # CPU, synthetic image files
    python benchmarks/bench_training.py --device cuda --events 20000 --batch-size 256
    python benchmarks/bench_training.py --images results/images/simulation --target-images results/images/data_like

Prints events/s, the pipeline / plain-loop ratios (1.0 = the pipeline adds nothing), the
CNN's achieved FLOP/s as a fraction of the peak FLOP/s of a large matmul measured in the
same run, in fp32 and, where the device has bf16 natively (CUDA, CPUs with AVX512-BF16 or
AMX), in bf16 autocast too, and the variants tried (memory format, batch size, threads, torch.compile).
Measurements alternate between variants and keep each one's best of ``--repeats``, since
other work on the machine makes single timings noisy.
"""

from __future__ import annotations

import argparse
import functools
import glob
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch
import torch.nn.functional as F
import yaml

from minerva_vertex import allocator, datasets, devices, models, training

WIDTHS = {"x": 50, "u": 25, "v": 25}
DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
NETWORK_KEYS = ("input_transform", "activation", "normalization", "dropout")  # the layers, as the default CNN has them


@functools.cache
def default_network() -> dict:
    """The default CNN's layer choices and dropout (config/config.yaml), so that both loops time that network."""
    entry = yaml.safe_load(DEFAULT_CONFIG.read_text())["models"]["cnn"]
    return {key: entry[key] for key in NETWORK_KEYS if key in entry}


def write_synthetic(directory: Path, n_events: int, seed: int, shift: float = 0.0) -> list[str]:
    """One image file in the contract's layout: sparse deposits along a line per event."""
    rng = np.random.default_rng(seed)
    path = directory / f"bench_{seed}.h5"
    n_val = 64  # a few validation events: the pipeline validates after each epoch
    n_train, n_events = n_events, n_events + n_val
    segments = rng.integers(0, 11, n_events)
    with h5py.File(path, "w") as h5:
        for view, width in WIDTHS.items():
            img = np.zeros((n_events, 1, 127, width), np.float32)
            strip = rng.integers(20, 107, n_events)
            start = (2 + 4 * segments) * width // 50
            for i in range(n_events):
                img[i, 0, strip[i], start[i] :] = (1 + shift) * rng.uniform(0.5, 1.5, width - start[i])
            h5[f"hits-{view}"] = img
        h5["split"] = np.repeat(np.array([0, 1], np.uint8), [n_train, n_val])
        h5["segments"] = segments.astype(np.uint8)
        h5["eventids"] = np.arange(n_events, dtype=np.uint64)
    return [str(path)]


def peak_flops(device: torch.device, n: int = 2048, repeats: int = 5, dtype=torch.float32) -> float:
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    best = 0.0
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        for _ in range(3):
            a @ b
        _sync(device)
        best = max(best, 3 * 2 * n**3 / (time.perf_counter() - start))
    return best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(kind, views, labels, target_views, batch_size, device, channels_last, compile_model=False, precision=None) -> float:
    """Events/s of the textbook loop: fixed-order batches of in-memory tensors, Adam."""
    torch.manual_seed(0)
    model = models.build_model(kind, **default_network()).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    step_model = torch.compile(model) if compile_model else model
    views = [v.to(device).contiguous(memory_format=fmt) for v in views]
    labels = labels.to(device)
    if target_views is not None:
        target_views = [v.to(device).contiguous(memory_format=fmt) for v in target_views]
    n = labels.shape[0]
    autocast = devices.autocast_for(device, precision)

    def step(i):
        sl = slice(i, i + batch_size)
        with autocast:
            if kind == "cnn":
                loss = F.cross_entropy(step_model(*(v[sl] for v in views)).float(), labels[sl])
            else:
                both = [torch.cat([s[sl], t[sl]]) for s, t in zip(views, target_views)]
                feats = model.features(*both)
                b = labels[sl].shape[0]
                loss = F.cross_entropy(model.classify(feats[:b]).float(), labels[sl])
                dom = model.domain_logit(feats, 0.5).float()
                is_target = torch.cat([torch.zeros(b, device=device), torch.ones(b, device=device)])
                loss = loss + 0.1 * F.binary_cross_entropy_with_logits(dom, is_target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    model.train()
    for i in range(2):  # warm-up: allocator, oneDNN/cuDNN primitive choice, compilation
        step(i * batch_size)
    _sync(device)
    start = time.perf_counter()
    for i in range(0, n, batch_size):
        step(i)
    _sync(device)
    return n / (time.perf_counter() - start)


def pipeline(kind, source, target, batch_size, device, channels_last, workdir, compile_model=False, precision="fp32") -> float:
    """Events/s of minerva_vertex.training.train (second epoch: the first warms up)."""
    entry = {"kind": kind, "train_sample": "s", "epochs": 2, "batch_size": batch_size, "max_val_events": batch_size, **default_network()}
    settings = training.TrainSettings.from_dict({**entry, **({"target_sample": "t"} if kind == "dann" else {})})
    options = training.RunOptions.from_section(
        {"device": device.type, "channels_last": channels_last, "compile": compile_model, "progress": False,
         "precision": precision}
    )
    result = training.train(
        settings, source, target if kind == "dann" else (), checkpoint_dir=Path(tempfile.mkdtemp(dir=workdir)),
        options=options,
    )
    return result.metrics[-1]["train_events_per_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--events", type=int, default=384, help="training events per measurement")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--images", help="directory of image files to use instead of synthetic ones")
    parser.add_argument("--target-images", help="target-domain image files for the DANN")
    parser.add_argument("--variants", action="store_true", help="also time batch sizes, threads and memory formats")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile (slow to start)")
    parser.add_argument(
        "--profile", action="store_true",
        help="also profile the CNN's training steps (torch.profiler) in each precision: time per layer and operator",
    )
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    # The plain loop gets the allocator setting that the pipeline's training makes for its
    # process, so that the two compare their code only (benchmarks/bench_allocator.py times the setting).
    allocator.keep_freed_memory()
    with tempfile.TemporaryDirectory(prefix="bench_training_") as workdir:
        measure(args, Path(workdir))


def image_files(args: argparse.Namespace, workdir: Path) -> tuple[list[str], list[str]]:
    """The source and target image files: those of ``--images`` and ``--target-images``
    (the source's when absent), else two synthetic files of ``--events`` written to ``workdir``."""
    if args.images:
        source = sorted(glob.glob(f"{args.images}/*.h5"))
        return source, sorted(glob.glob(f"{args.target_images or args.images}/*.h5"))
    return write_synthetic(workdir, args.events, seed=1), write_synthetic(workdir, args.events, seed=2, shift=0.5)


def measure(args: argparse.Namespace, workdir: Path) -> None:
    """Every figure of the benchmark; the synthetic files and checkpoints go to ``workdir``."""
    device = devices.choose_device(args.device)
    source, target = image_files(args, workdir)
    split = "train"
    reading = datasets.ReadOptions(batch_size=args.batch_size, memory_limit_mb=4096, chunk_events=4096)
    src = datasets.load_batches(source, split, reading, channels=1, labels=True, max_events=args.events)
    tgt = datasets.load_batches(target, split, reading, channels=1, labels=False, max_events=args.events)
    views, labels, tviews = src.views, src.labels, tgt.views
    n = min(len(labels), tgt.n_events)
    views, labels, tviews = [v[:n] for v in views], labels[:n], [v[:n] for v in tviews]
    cl = device.type == "cpu"  # channels-last pays on CPU (see the variants); cuDNN picks its own

    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{n} events, batch {args.batch_size}")
    flops = 3 * models.flops_per_event(models.build_model("cnn", **default_network()))  # forward + backward ~ 3 forwards
    best: dict[str, float] = {}

    def record(name, value):
        best[name] = max(best.get(name, 0.0), value)

    native_bf16 = devices.has_native_bf16(device)
    precisions = ("fp32", "bf16") if native_bf16 else ("fp32",)
    for _ in range(args.repeats):
        for precision in precisions:
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            record(f"peak {precision}", peak_flops(device, dtype=dtype))
            for kind in ("cnn", "dann"):
                record(f"{kind} plain {precision}", plain_loop(kind, views, labels, tviews, args.batch_size, device, cl, precision=precision))
                record(f"{kind} pipeline {precision}", pipeline(kind, source, target, args.batch_size, device, cl, workdir, precision=precision))
    if not native_bf16:
        print(f"bf16: not native on this {device.type} (no {' or '.join(devices.BF16_CPU_FLAGS)} flag); fp32 only")
    for precision in precisions:
        peak = best[f"peak {precision}"]
        print(f"[{precision}] peak matmul: {peak / 1e9:.1f} GFLOP/s")
        for kind in ("cnn", "dann"):
            plain, pipe = best[f"{kind} plain {precision}"], best[f"{kind} pipeline {precision}"]
            print(f"[{precision}] {kind:5s} events/s: pipeline {pipe:8.1f}   plain loop {plain:8.1f}   ratio {pipe / plain:.3f}")
        cnn_flops = best[f"cnn pipeline {precision}"] * flops
        print(f"[{precision}] cnn   training {cnn_flops / 1e9:.1f} GFLOP/s = {cnn_flops / peak:.2f} of the {precision} peak "
              f"({flops / 1e9:.3f} GFLOP per event, forward + backward)")
    peak = best["peak fp32"]

    if args.variants:
        print("variants (plain CNN loop, events/s and fraction of peak):")
        for _ in range(args.repeats):
            for bs in (32, 64, 128, 256):
                for fmt in (False, True):
                    record(f"batch {bs:3d} channels_last={fmt}", plain_loop("cnn", views, labels, None, bs, device, fmt))
            threads = torch.get_num_threads()
            if threads > 1:
                torch.set_num_threads(1)
                record(f"batch {args.batch_size:3d} 1 thread", plain_loop("cnn", views, labels, None, args.batch_size, device, cl))
                torch.set_num_threads(threads)
        for name in sorted(k for k in best if k.startswith("batch")):
            print(f"  {name:32s} {best[name]:8.1f}  {best[name] * flops / peak:.2f}")
    if args.compile:
        value = plain_loop("cnn", views, labels, None, args.batch_size, device, cl, compile_model=True)
        print(f"  torch.compile (plain CNN loop)   {value:8.1f}  {value * flops / peak:.2f}")
    if args.profile:
        for precision in precisions:
            profile_layers(views, labels, args.batch_size, device, cl, precision)


def profile_layers(views, labels, batch_size, device, channels_last, precision, steps: int = 20) -> None:
    """Where a CNN training step's time goes: torch.profiler over ``steps`` plain-loop steps,
    the self time of each operator per input shape (a convolution's shape names its layer)."""
    from torch.profiler import ProfilerActivity, profile

    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = models.build_model("cnn", **default_network()).to(device).to(memory_format=fmt).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    views = [v.to(device).contiguous(memory_format=fmt) for v in views]
    labels = labels.to(device)
    autocast = devices.autocast_for(device, precision)

    def step(i):
        start = (i * batch_size) % (len(labels) - batch_size)
        sl = slice(start, start + batch_size)
        with autocast:
            loss = F.cross_entropy(model(*(v[sl] for v in views)).float(), labels[sl])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(3):
        step(i)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities, record_shapes=True) as prof:
        for i in range(steps):
            step(i)
    averages = prof.key_averages(group_by_input_shape=True)
    total = sum(e.self_cpu_time_total for e in averages)
    print(f"[{precision}] profile of {steps} CNN training steps, batch {batch_size}: "
          f"{total / steps / 1e3:.1f} ms of self CPU time per step; the 15 largest operators (per input shape):")
    for event in sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]:
        shapes = ", ".join(str(tuple(s)) for s in event.input_shapes[:2] if s)
        print(f"  {event.self_cpu_time_total / total:6.1%}  {event.key:40s} {shapes}")
    shares: dict[str, float] = {}
    for event in averages:
        category = operator_category(event.key)
        shares[category] = shares.get(category, 0.0) + event.self_cpu_time_total / total
    print(f"[{precision}] self CPU time by kind of operator: "
          + ", ".join(f"{name} {share:.0%}" for name, share in sorted(shares.items(), key=lambda kv: -kv[1])))


OPERATOR_CATEGORIES = (  # (category, substrings of aten operator names), first match wins
    ("convolution backward", ("convolution_backward",)),
    ("convolution forward", ("convolution", "conv2d")),
    ("matmul", ("mm", "linear")),
    ("pooling", ("pool",)),
    ("casts and copies", ("copy", "_to_", "aten::to", "clone", "contiguous", "empty")),
    ("activations and dropout", ("relu", "threshold", "dropout", "bernoulli")),
    ("optimizer", ("foreach", "adam", "addcdiv", "lerp")),
)


def operator_category(name: str) -> str:
    for category, parts in OPERATOR_CATEGORIES:
        if any(part in name for part in parts):
            return category
    return "other (element-wise; loss; bookkeeping)"


if __name__ == "__main__":
    main()
