"""Every benchmark starts: it parses under this Python, imports, and prints its usage.

The benchmarks are run by hand (and `make bench`), not by the suite, so a syntax or import
error in one would otherwise surface only after a long run of the steps before it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 7


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_benchmark_prints_its_usage(path):
    done = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout


def test_the_training_profile_splits_a_step_by_operator(capsys):
    import importlib.util

    import torch

    spec = importlib.util.spec_from_file_location("bench_training", BENCHMARKS[0].parent / "bench_training.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.operator_category("aten::convolution_backward") == "convolution backward"
    assert bench.operator_category("aten::mkldnn_convolution") == "convolution forward"
    assert bench.operator_category("aten::max_pool2d_with_indices_backward") == "pooling"
    assert bench.operator_category("aten::threshold_backward") == "activations and dropout"
    torch.manual_seed(0)
    views = [torch.rand(8, 1, 127, w) for w in (50, 25, 25)]
    bench.profile_layers(views, torch.randint(0, 11, (8,)), 4, torch.device("cpu"), False, "fp32", steps=2)
    out = capsys.readouterr().out
    assert "profile of 2 CNN training steps, batch 4" in out and "convolution backward" in out
    shares = out.split("by kind of operator: ")[1].strip().split(", ")
    total = sum(float(item.rsplit(" ", 1)[1].rstrip("%")) for item in shares)
    assert 97 <= total <= 103  # every operator's time in one category, rounded per category
