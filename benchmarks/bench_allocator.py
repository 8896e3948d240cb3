"""What keeping freed memory in the process (minerva_vertex.allocator) gives the training.

    python benchmarks/bench_allocator.py                      # synthetic image files
    python benchmarks/bench_allocator.py --images results/images/simulation --target-images results/images/data_like

Trains the CNN and the DANN of the default config with the pipeline's own code, each in a
fresh process, once with glibc's default allocator settings and once with the setting the
training jobs make, alternating, ``--repeats`` times. Prints each training's events/s, its
minor page faults and kernel seconds, and per model and precision the ratio kept / default
of the best events/s of each.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_training  # noqa: E402  (the image files and the default CNN's layers)

from minerva_vertex import allocator, devices, training  # noqa: E402

MODES = ("default", "kept")


def train_once(mode: str, kind: str, precision: str, source: list[str], target: list[str], events: int, threads: int) -> dict:
    """One training in this process; glibc's defaults stay where ``mode`` is 'default'."""
    torch.set_num_threads(threads)
    if mode == "default":
        allocator.keep_freed_memory = lambda: False  # what the training would otherwise set
    entry = {"kind": kind, "train_sample": "s", "epochs": 1, "batch_size": 64, "max_train_events": events,
             "max_val_events": 64, **bench_training.default_network()}
    if kind == "dann":
        entry["target_sample"] = "t"
    options = training.RunOptions.from_section(
        {"device": "cpu", "precision": precision, "progress": False, "memory_limit_mb": 100, "chunk_events": 1024}
    )
    before = resource.getrusage(resource.RUSAGE_SELF)
    with tempfile.TemporaryDirectory(prefix="bench_allocator_") as checkpoints:
        result = training.train(training.TrainSettings.from_dict(entry), source, target if kind == "dann" else (),
                                checkpoint_dir=Path(checkpoints), options=options)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "events_per_s": result.metrics[-1]["train_events_per_s"],
        "page_faults": after.ru_minflt - before.ru_minflt,
        "kernel_s": after.ru_stime - before.ru_stime,
    }


def run_child(args: argparse.Namespace, mode: str, kind: str, precision: str, source, target) -> dict:
    command = [sys.executable, __file__, "--child", mode, kind, precision, "--events", str(args.events),
               "--threads", str(args.threads), "--source", *source, "--target", *target]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4096, help="training events per training")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--images", help="directory of image files to use instead of synthetic ones")
    parser.add_argument("--target-images", help="target-domain image files for the DANN")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "KIND", "PRECISION"), help=argparse.SUPPRESS)
    parser.add_argument("--source", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument("--target", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(train_once(*args.child, args.source, args.target, args.events, args.threads)))
        return
    with tempfile.TemporaryDirectory(prefix="bench_allocator_") as workdir:
        compare(args, *bench_training.image_files(args, Path(workdir)))


def compare(args: argparse.Namespace, source: list[str], target: list[str]) -> None:
    cpu = torch.device("cpu")
    precisions = ("fp32", "bf16") if devices.has_native_bf16(cpu) else ("fp32",)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.events} training events, batch 64, "
          f"allocator setting available: {allocator.keep_freed_memory()}")
    best: dict[tuple, float] = {}
    for repeat in range(args.repeats):
        for precision in precisions:
            for kind in ("cnn", "dann"):
                for mode in MODES:
                    figures = run_child(args, mode, kind, precision, source, target)
                    key = (kind, precision, mode)
                    best[key] = max(best.get(key, 0.0), figures["events_per_s"])
                    print(f"  [{precision}] {kind:4s} {mode:7s} {figures['events_per_s']:7.1f} events/s  "
                          f"{figures['page_faults']:9d} minor page faults  {figures['kernel_s']:5.1f} s in the kernel",
                          flush=True)
    for precision in precisions:
        for kind in ("cnn", "dann"):
            kept, default = best[(kind, precision, "kept")], best[(kind, precision, "default")]
            print(f"[{precision}] {kind:4s} best events/s: kept {kept:7.1f}  default {default:7.1f}  ratio {kept / default:.3f}")


if __name__ == "__main__":
    main()
