"""Resumable training state: one checkpoint per model, outside the rule's outputs.

A checkpoint belongs to one training: its fingerprint hashes the settings, the run options
that can change the weights, the device type and the identity of every input file. One
with another fingerprint is ignored (and overwritten after the next epoch); one that cannot
be read (a truncated file, say) is reported with its path, set aside as
``checkpoint.pt.damaged`` for inspection, and training starts over.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import torch

from minerva_vertex import safe_write

from .settings import RunOptions, TrainSettings

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1
DAMAGED_SUFFIX = ".damaged"
log = logging.getLogger(__name__)


def input_identity(paths: Sequence[str | Path]) -> list[list]:
    """(path, size, mtime) of each input: a regenerated file invalidates a checkpoint."""
    out = []
    for path in paths:
        st = os.stat(path)
        out.append([str(path), st.st_size, st.st_mtime_ns])
    return out


def fingerprint(settings: TrainSettings, options: RunOptions, device: torch.device, inputs: list) -> str:
    state = {"settings": asdict(settings), **options.result_options(), "device": device.type, "inputs": inputs}
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def checkpoint_path(checkpoint_dir: str | Path) -> Path:
    return Path(checkpoint_dir) / CHECKPOINT_NAME


def load_checkpoint(path: Path, expected_fingerprint: str) -> dict | None:
    """The checkpoint's state if it belongs to this training, else None."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError(f"holds a {type(state).__name__}, not a checkpoint")
    except Exception as error:  # noqa: BLE001 (any unreadable file is set aside, whatever torch raises)
        damaged = path.with_name(path.name + DAMAGED_SUFFIX)
        os.replace(path, damaged)
        log.warning("checkpoint %s cannot be read (%s); moved to %s, training starts over", path, error, damaged)
        return None
    if state.get("format") != CHECKPOINT_FORMAT or state.get("fingerprint") != expected_fingerprint:
        log.info("checkpoint %s belongs to another training; starting over", path)
        return None
    return state


def save_checkpoint(path: Path, state: dict) -> None:
    safe_write.torch_save({"format": CHECKPOINT_FORMAT, **state}, path)
