"""Score files of rule ``score``: one per image file and network, the test split's answers.

HDF5, one entry per test event (``split`` == 2), in the order of the image file:

=======================  ========  ==========================================================
``eventids``             uint64    as in the image file
``probabilities``        float32   (N, 11) softmax of the logits; a plane-code network's are
                                   summed per segment
``predicted``            uint8     the most probable segment
``features``             float16   (N, F) the concatenated tower outputs (what the DANN's
                                   domain classifier sees), for the domain-separability measure
``predicted_planecode``  uint16    a plane-code network only: its most probable plane code
=======================  ========  ==========================================================

File attributes: ``model``, ``model_kind``, ``labels``, ``sample``, ``source_file``,
``n_features``, ``split``. Truth stays in the image file: the metrics join it to every
finder's answer by event id (:func:`minerva_vertex.image_contract.read_test_events`).

Written by :mod:`minerva_vertex.scoring` (which needs the network, and so torch); read here,
with h5py and numpy alone, by the metrics and the systematic variations.
"""

from __future__ import annotations

from collections.abc import Sequence

import h5py
import numpy as np

from minerva_vertex.geometry import N_SEGMENTS


def columns(n_features: int, planecodes: bool) -> dict[str, tuple[tuple[int, ...], type]]:
    """Per-event shape and dtype of each dataset of a score file, in the order written."""
    out = {
        "eventids": ((), np.uint64),
        "probabilities": ((N_SEGMENTS,), np.float32),
        "predicted": ((), np.uint8),
        "features": ((n_features,), np.float16),
    }
    if planecodes:
        out["predicted_planecode"] = ((), np.uint16)
    return out


class ScoreFileError(ValueError):
    """A file that is not a score file of rule score (or lacks what is asked); names the file."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")


def has_planecodes(paths: Sequence) -> bool:
    """Whether score files come from a plane-code network (they carry its plane codes)."""
    with h5py.File(paths[0], "r") as h5:
        return "predicted_planecode" in h5


def read_scores(paths: Sequence, *, features: bool = False, planecodes: bool = False) -> dict[str, np.ndarray]:
    """Score files concatenated (the parts of a sample, in order): ``eventids``,
    ``probabilities``, ``predicted``, and ``features`` and ``predicted_planecode`` when asked."""
    names = ["eventids", "probabilities", "predicted"] + (["features"] if features else [])
    names += ["predicted_planecode"] if planecodes else []
    pieces: dict[str, list] = {name: [] for name in names}
    for path in paths:
        with h5py.File(path, "r") as h5:
            for name in names:
                if name not in h5:
                    raise ScoreFileError(path, f"no dataset '{name}' (expected a score file of rule score)")
                pieces[name].append(h5[name][:])
    return {name: np.concatenate(parts) for name, parts in pieces.items()}
