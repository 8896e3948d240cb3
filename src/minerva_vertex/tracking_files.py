"""Track-based vertices of image files: one output file per image file, one per sample.

Per image file (rule ``track_vertex``), HDF5 with one entry per test event (``split`` == 2,
the events every metric reads, as in the score files), in the order of the image file:

=============  ========  ===============================================================
``eventids``   uint64    as in the image file
``vtx_z``      float32   reconstructed vertex z, mm; NaN where no vertex was found
``vtx_x``      float32   x, mm; NaN where no vertex or where the muon's views do not fix it
``vtx_y``      float32   y, mm; as x
``segment``    int16     segment of ``vtx_z`` (``geometry.segment_of_z``); -1: no vertex
``n_tracks``   int16     tracks found (matched across views or seen in one view)
``quality``    uint8     ``tracking.QUALITY_CODES`` (also stored in the file attributes)
=============  ========  ===============================================================

File attributes: ``sample``, ``source_file`` (the image file), ``geometry_version``,
``tracking_params`` and ``quality_codes`` (JSON), ``n_events`` (test events), ``n_no_vertex``,
``split`` (the test split's code).

Per sample (rule ``gather_track_vertices``): the same datasets concatenated over the
sample's files, with ``part`` (int16, index into the ``parts`` attribute), and a JSON
summary: events, events without a vertex, counts per quality code, segment and track count.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (registers the filters the image files are written with)
import numpy as np
from tqdm import tqdm

from minerva_vertex import geometry, image_contract, safe_write, tracking

DATASET_DTYPES = {
    "eventids": np.uint64,
    "vtx_z": np.float32,
    "vtx_x": np.float32,
    "vtx_y": np.float32,
    "segment": np.int16,
    "n_tracks": np.int16,
    "quality": np.uint8,
}


class TrackingFileError(ValueError):
    """An image file the track-based vertex cannot read; the message names the file."""

    def __init__(self, path, message: str):
        super().__init__(f"{path}: {message}")


def _energy_scale(h5: h5py.File, path) -> float:
    """Energy scale (MeV per pixel unit) of an image file, checked to follow the contract."""
    try:
        image_contract.check_file(h5, path)
    except image_contract.ImageFileError as error:
        raise TrackingFileError(path, str(error).removeprefix(f"{path}: ")) from None
    if "energy_scale_mev" not in h5.attrs:
        raise TrackingFileError(
            path, "no attribute 'energy_scale_mev' (pixel = energy / scale): cannot convert pixels to MeV"
        )
    scale = float(h5.attrs["energy_scale_mev"])
    if not np.isfinite(scale) or scale <= 0:
        raise TrackingFileError(path, f"attribute 'energy_scale_mev' is {scale}, expected a positive number")
    return scale


def _write_atomically(path, write) -> None:
    """An HDF5 file written by ``write(h5)``, whole or not at all."""
    with safe_write.atomic_output(path) as temporary, h5py.File(temporary, "w") as h5:
        write(h5)


def _write_datasets(h5: h5py.File, arrays: dict) -> None:
    for name, dtype in DATASET_DTYPES.items():
        h5.create_dataset(name, data=np.asarray(arrays[name], dtype=dtype), compression="gzip", compression_opts=4)


def _read_rows(dataset: h5py.Dataset, rows: np.ndarray, read_size: int) -> np.ndarray:
    """Channel 0 of the sorted ``rows`` of an image dataset, read ``read_size`` file rows at a
    time: memory stays bounded however sparse the rows are (a tenth of a default sample)."""
    pieces = []
    for first in range(int(rows[0]), int(rows[-1]) + 1, read_size):
        inside = rows[(rows >= first) & (rows < first + read_size)]
        if len(inside):
            pieces.append(dataset[first : inside[-1] + 1, :1][inside - first])
    return np.concatenate(pieces)


def track_vertex_file(
    image_path, output_path, params: tracking.TrackingParams | None = None, progress: bool = False
) -> dict:
    """Track-based vertex of every test event of one image file; returns the output arrays.
    Test rows are read in contiguous blocks of ``params.chunk_events`` test events."""
    params = params or tracking.TrackingParams.from_section({})
    with h5py.File(image_path, "r") as h5:
        scale = _energy_scale(h5, image_path)
        split = h5["split"][:]
        results = []
        blocks = list(image_contract.blocks_of_test_rows(split, params.chunk_events))
        for start, _, keep in tqdm(blocks, desc=f"track_vertex {Path(image_path).name}", unit="chunk", disable=not progress):
            rows = start + keep
            chunk = {key: _read_rows(h5[name], rows, params.chunk_events) for key, name in image_contract.DATASET_OF_VIEW.items()}
            results.append(tracking.reconstruct_chunk(chunk, scale, params))
        arrays = {
            name: np.concatenate([r[name] for r in results]) if results else np.zeros(0)
            for name in tracking.OUTPUT_FIELDS
        }
        arrays["eventids"] = h5["eventids"][:][split == image_contract.TEST_SPLIT]
        sample = h5.attrs.get("sample", "")
    n_events = len(arrays["eventids"])

    def write(out: h5py.File) -> None:
        _write_datasets(out, arrays)
        out.attrs["sample"] = sample
        out.attrs["source_file"] = Path(image_path).name
        out.attrs["geometry_version"] = geometry.GEOMETRY_VERSION
        out.attrs["tracking_params"] = json.dumps(params.as_dict())
        out.attrs["quality_codes"] = json.dumps({str(k): v for k, v in tracking.QUALITY_CODES.items()})
        out.attrs["n_events"] = n_events
        out.attrs["n_no_vertex"] = int(np.sum(arrays["quality"] == tracking.QUALITY_NO_TRACK))
        out.attrs["split"] = image_contract.TEST_SPLIT

    _write_atomically(output_path, write)
    return arrays


def read_vertices(path) -> dict:
    """The datasets of a track-vertex file (per part or per sample) as numpy arrays."""
    with h5py.File(path, "r") as h5:
        missing = [name for name in DATASET_DTYPES if name not in h5]
        if missing:
            raise TrackingFileError(path, f"no dataset '{missing[0]}' (expected a track-vertex file)")
        arrays = {name: h5[name][:] for name in h5 if isinstance(h5[name], h5py.Dataset)}
        arrays["attrs"] = dict(h5.attrs)
    return arrays


def summarise(arrays: dict) -> dict:
    """Counts of a sample's vertices: events, no vertex, per quality, segment, tracks."""
    quality = np.asarray(arrays["quality"])
    segment = np.asarray(arrays["segment"])
    n_events = len(quality)
    no_vertex = int(np.sum(quality == tracking.QUALITY_NO_TRACK))
    return {
        "events": n_events,
        "events_without_vertex": no_vertex,
        "fraction_without_vertex": no_vertex / n_events if n_events else 0.0,
        "quality": {tracking.QUALITY_CODES[code]: int(np.sum(quality == code)) for code in tracking.QUALITY_CODES},
        "segment": {str(s): int(np.sum(segment == s)) for s in range(geometry.N_SEGMENTS)},
        "n_tracks": {
            str(n): int(c)
            for n, c in enumerate(np.bincount(np.asarray(arrays["n_tracks"], dtype=np.int64), minlength=1))
        },
    }


def gather_vertices(part_paths: Sequence, output_path, summary_path) -> dict:
    """One file and one JSON summary for a sample, from its per-part files (in order)."""
    parts = [read_vertices(path) for path in part_paths]
    if not parts:
        raise ValueError("gather_vertices needs at least one part file")
    arrays = {name: np.concatenate([p[name] for p in parts]) for name in DATASET_DTYPES}
    part_index = np.concatenate([np.full(len(p["quality"]), i, dtype=np.int16) for i, p in enumerate(parts)])
    first = parts[0]["attrs"]

    def write(out: h5py.File) -> None:
        _write_datasets(out, arrays)
        out.create_dataset("part", data=part_index, compression="gzip", compression_opts=4)
        out.attrs["parts"] = json.dumps([Path(p).stem for p in part_paths])
        for key in ("sample", "geometry_version", "tracking_params", "quality_codes"):
            out.attrs[key] = first.get(key, "")
        out.attrs["n_events"] = len(part_index)
        out.attrs["n_no_vertex"] = int(np.sum(arrays["quality"] == tracking.QUALITY_NO_TRACK))

    _write_atomically(output_path, write)
    summary = {"sample": str(first.get("sample", "")), **summarise(arrays)}
    safe_write.write_json(summary_path, summary)
    return summary
