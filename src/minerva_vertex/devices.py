"""Where and how training and scoring compute: CUDA when asked for or present, else the CPU;
bf16 where the device has it natively; channels-last on a CPU (:class:`Compute`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


def choose_device(requested: str = "auto") -> torch.device:
    """'auto': CUDA when PyTorch sees a GPU, else the CPU; 'cpu', 'cuda' or 'cuda:N' as asked."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested != "cpu" and not (requested == "cuda" or requested.startswith("cuda:")):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got '{requested}'")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device '{requested}' was asked for but no CUDA device is available")
    return torch.device(requested)


PRECISIONS = ("auto", "fp32", "bf16")
# CPU flags of native bf16 arithmetic (Linux /proc/cpuinfo names): AVX512-BF16 (Cooper Lake,
# Zen 4 and later) and AMX (Sapphire Rapids and later). Without them oneDNN emulates bf16,
# which is slower than fp32.
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is not there)."""
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes in bf16 natively (faster than fp32)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(cpu_flags() & set(BF16_CPU_FLAGS))


def resolve_precision(requested: str, device: torch.device) -> str:
    """'bf16' or 'fp32': ``auto`` takes bf16 where the device has it natively."""
    if requested not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got '{requested}'")
    if requested == "auto":
        return "bf16" if has_native_bf16(device) else "fp32"
    return requested


def autocast_for(device: torch.device, precision: str | None = None):
    """bf16 autocast for ``precision`` 'bf16', none for 'fp32'; by default bf16 on CUDA and
    fp32 on CPU (exact and deterministic)."""
    if precision is None:
        precision = "bf16" if device.type == "cuda" else "fp32"
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def data_device(device: torch.device, n_bytes: int) -> torch.device:
    """Where to hold in-memory events: on the GPU when they take under half its free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if n_bytes < free // 2:
            return device
    return torch.device("cpu")


@dataclass(frozen=True)
class Compute:
    """Where and how the arithmetic runs: device, memory format, precision (all resolved).

    The one place that lays a network and its inputs out channels-last."""

    device: torch.device
    channels_last: bool = False
    precision: str = "fp32"  # fp32 | bf16

    @classmethod
    def resolve(cls, device: str, precision: str, channels_last: bool) -> "Compute":
        """``device`` (auto, cpu, cuda) and ``precision`` (auto, fp32, bf16) as they will run;
        channels-last only on a CPU (cuDNN picks its own layout)."""
        chosen = choose_device(device)
        return cls(chosen, channels_last and chosen.type == "cpu", resolve_precision(precision, chosen))

    @classmethod
    def for_options(cls, options) -> "Compute":
        """Of run options with ``device``, ``precision`` and ``channels_last`` (training's)."""
        return cls.resolve(options.device, options.precision, options.channels_last)

    def autocast(self):
        return autocast_for(self.device, self.precision)

    def layout(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` in this memory format (changed in place, as ``Module.to`` does)."""
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def inputs(self, tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Image tensors on this device, in this memory format."""
        moved = [t.to(self.device, non_blocking=True) for t in tensors]
        if self.channels_last:
            moved = [t.contiguous(memory_format=torch.channels_last) for t in moved]
        return moved
