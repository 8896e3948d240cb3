"""Device choice for training and scoring: CUDA when asked for or present, else the CPU."""

from __future__ import annotations

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


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; plain fp32 on CPU (exact and deterministic)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def data_device(device: torch.device, n_bytes: int) -> torch.device:
    """Where to hold in-memory events: on the GPU when they take under half its free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if n_bytes < free // 2:
            return device
    return torch.device("cpu")
