"""The image file: its dataset names, shapes and split codes, the check that a file follows
them, the check that a sample's event ids are unique, and the reading of the test split
(its event ids and truth, and its rows in contiguous blocks).

Written by :mod:`minerva_vertex.images`; read by training (``datasets``), scoring, the
track-based vertex and the metrics, all through this module. The layout (docs/stages.md, "Images"):
``hits-x`` (N, C, 127, 50), ``hits-u`` and ``hits-v`` (N, C, 127, 25) float32, ``eventids``
uint64, ``split`` uint8 (0 train, 1 validation, 2 test) and, with truth, ``segments`` uint8,
``planecodes`` uint16, ``zs`` float32 and ``gen_data/mc_*``.
"""

from __future__ import annotations

from collections.abc import Sequence

import h5py
import hdf5plugin  # noqa: F401  (registers the filters the image files are written with)
import numpy as np

from minerva_vertex import geometry, splits

VIEW_KEYS = tuple(geometry.VIEW_NAMES[code] for code in geometry.VIEWS)  # "x", "u", "v"
N_STRIPS = geometry.N_STRIPS
VIEW_WIDTH = {geometry.VIEW_NAMES[code]: width for code, width in geometry.N_COLUMNS.items()}
DATASET_OF_VIEW = {key: f"hits-{key}" for key in VIEW_KEYS}
VIEW_DATASETS = tuple(DATASET_OF_VIEW.values())
VIEW_WIDTHS = tuple(VIEW_WIDTH[key] for key in VIEW_KEYS)
SPLIT_CODES = splits.SPLIT_CODES  # train 0, validation 1, test 2
TEST_SPLIT = SPLIT_CODES["test"]
# Truth the metrics need, as stored in the file.
TRUTH_DATASETS = ("segments", "gen_data/mc_vtx_x", "gen_data/mc_vtx_y", "gen_data/mc_vtx_z", "gen_data/mc_targetZ")


# MINERvA's event id: decimal digits run | subrun (4) | gate (4) | slice (2), as MINERvA's
# HDF5 makers encode it (decoded by their decode_eventid).
EVENTID_FIELDS = (("slice", 100), ("gate", 10_000), ("subrun", 10_000))


def unpack_eventids(eventids) -> dict[str, np.ndarray]:
    """run, subrun, gate, slice of packed event ids."""
    rest = np.asarray(eventids, dtype=np.uint64)
    out = {}
    for name, limit in EVENTID_FIELDS:
        out[name] = (rest % np.uint64(limit)).astype(np.int64)
        rest = rest // np.uint64(limit)
    out["run"] = rest.astype(np.int64)
    return {name: out[name] for name in ("run", "subrun", "gate", "slice")}


def describe_eventid(eventid) -> str:
    fields = unpack_eventids([eventid])
    return f"{int(eventid)} (" + ", ".join(f"{name} {int(values[0])}" for name, values in fields.items()) + ")"


class ImageFileError(ValueError):
    """An image file that does not follow the contract, naming the file and dataset."""


class DuplicateEventError(ValueError):
    """Two events of one sample share an event id; names both files and the id."""


def bytes_per_event(channels: int) -> int:
    return 4 * channels * N_STRIPS * sum(VIEW_WIDTHS)


# What a network can learn: the segment (11 classes) or the finer plane code (every plane of
# the image window and every passive target, geometry.N_PLANECODES classes).
LABEL_DATASETS = ("segments", "planecodes")


def label_dataset(labels: bool | str) -> str | None:
    """The dataset a reader's ``labels`` asks for: None for False, 'segments' for True."""
    if labels is False or labels is None:
        return None
    if labels is True:
        return "segments"
    if labels not in LABEL_DATASETS:
        raise ValueError(f"labels must be one of {', '.join(LABEL_DATASETS)} (or True/False), got '{labels}'")
    return labels


def check_file(h5: h5py.File, path, channels: int = 1, labels: bool | str = False) -> int:
    """Number of events of an open image file; raises naming the file and dataset at fault."""
    for name in VIEW_DATASETS + ("eventids", "split"):
        if name not in h5:
            raise ImageFileError(f"{path}: dataset '{name}' missing (expected an image file of rule images)")
    n = h5["split"].shape[0]
    if h5["eventids"].shape != (n,):
        raise ImageFileError(f"{path}: dataset 'eventids' has shape {h5['eventids'].shape}, expected ({n},)")
    for name, width in zip(VIEW_DATASETS, VIEW_WIDTHS):
        shape = h5[name].shape
        if len(shape) != 4 or shape[0] != n or shape[2:] != (N_STRIPS, width):
            raise ImageFileError(f"{path}: dataset '{name}' has shape {shape}, expected ({n}, C, {N_STRIPS}, {width})")
        if shape[1] < channels:
            raise ImageFileError(f"{path}: dataset '{name}' has {shape[1]} channel(s), the model asks for {channels}")
    name = label_dataset(labels)
    if name is not None:
        if name not in h5:
            raise ImageFileError(f"{path}: dataset '{name}' missing: the file has no truth, so it cannot train a model's labels")
        if h5[name].shape != (n,):
            raise ImageFileError(f"{path}: dataset '{name}' has shape {h5[name].shape}, expected ({n},)")
    return n


def channels_of(h5: h5py.File) -> int:
    return int(h5[VIEW_DATASETS[0]].shape[1])


def has_truth(h5: h5py.File) -> bool:
    return all(name in h5 for name in TRUTH_DATASETS)


def check_unique_ids(ids_per_file: Sequence[tuple[str, np.ndarray]]) -> None:
    """Event ids unique across a sample's files; else name both files and one shared id.

    Metrics join every finder's answer to the truth by event id, so a shared id (a file
    listed twice, two productions numbered alike) would pair events with the wrong truth.
    """
    if not ids_per_file:
        return
    ids = np.concatenate([np.asarray(ids, dtype=np.uint64) for _, ids in ids_per_file])
    owner = np.concatenate([np.full(len(ids), i) for i, (_, ids) in enumerate(ids_per_file)])
    order = np.argsort(ids, kind="stable")
    repeated = np.flatnonzero(ids[order][1:] == ids[order][:-1])
    if len(repeated) == 0:
        return
    first, second = order[repeated[0]], order[repeated[0] + 1]
    file_a, file_b = ids_per_file[owner[first]][0], ids_per_file[owner[second]][0]
    where = f"files {file_a} and {file_b}" if file_a != file_b else f"file {file_a} (twice)"
    raise DuplicateEventError(
        f"event id {describe_eventid(ids[first])} appears in {where}; {len(repeated)} id(s) are shared in all. "
        "Event ids (run, subrun, gate, slice) must be unique within a sample: list each file once, "
        "and give overlapping productions their own run or subrun numbers or make them separate samples"
    )


def check_sample_ids(paths: Sequence) -> None:
    """:func:`check_unique_ids` over a sample's image files, reading only their event ids."""
    ids_per_file = []
    for path in paths:
        with h5py.File(path, "r") as h5:
            check_file(h5, path)
            ids_per_file.append((str(path), h5["eventids"][:]))
    check_unique_ids(ids_per_file)


def read_test_events(paths: Sequence) -> dict[str, np.ndarray]:
    """Event ids and, where every file has it, truth of the test split of a sample's image
    files (truth keys without 'gen_data/'); event ids are checked unique across the files."""
    pieces: dict[str, list] = {}
    ids_per_file = []
    for path in paths:
        with h5py.File(path, "r") as h5:
            check_file(h5, path)
            ids = h5["eventids"][:]
            ids_per_file.append((str(path), ids))
            test = h5["split"][:] == TEST_SPLIT
            pieces.setdefault("eventids", []).append(ids[test])
            if has_truth(h5):
                for name in TRUTH_DATASETS:
                    pieces.setdefault(name.removeprefix("gen_data/"), []).append(h5[name][:][test])
    check_unique_ids(ids_per_file)
    return {key: np.concatenate(parts) for key, parts in pieces.items() if len(parts) == len(paths)}


def blocks_of_test_rows(split: np.ndarray, block_size: int):
    """(start, stop, test rows within start..stop-1) of each block of ``block_size`` test
    events, in file order: one contiguous read per block, whatever share of the rows the
    test split holds (a tenth in the default samples, all of them in a varied sample)."""
    test = np.flatnonzero(np.asarray(split) == TEST_SPLIT)
    for first in range(0, len(test), block_size):
        rows = test[first : first + block_size]
        start, stop = int(rows[0]), int(rows[-1]) + 1
        yield start, stop, rows - start


def truth_of(events: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """The truth part of :func:`read_test_events`, or None when the sample has none."""
    keys = [name.removeprefix("gen_data/") for name in TRUTH_DATASETS]
    return {key: events[key] for key in keys} if all(key in events for key in keys) else None
