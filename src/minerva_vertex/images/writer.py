"""The HDF5 image file: datasets, attributes, per-event columns, compressed chunks, and
:func:`convert_file`, one ROOT hit file to one image file and its summary.

The layout is the image-file contract (:mod:`minerva_vertex.image_contract`); the pixels
come from :class:`~minerva_vertex.images.pixels.ImageScatterer`, the counts and warnings
from :mod:`minerva_vertex.images.summaries`.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cramjam
import h5py
import hdf5plugin
import numpy as np

from minerva_vertex import geometry, image_contract, rootio, safe_write, settings, splits
from minerva_vertex.image_contract import DATASET_OF_VIEW, N_STRIPS, VIEW_KEYS, VIEW_WIDTH
from minerva_vertex.images import summaries
from minerva_vertex.images.pixels import (
    ENERGY_NORMALISATION,
    ENERGY_SCALE_MEV,
    TIME_NORMALISATION,
    TIME_SCALE_NS,
    ImageScatterer,
)

# HDF5 chunks of whole images, 64 events: training reads contiguous batches of tens to
# hundreds of events, so a batch touches few chunks and decompresses little it does not
# use; a chunk is 1.6 MB (x) or 0.8 MB (u, v) uncompressed per channel, large enough that
# per-chunk overheads vanish, small enough for a few to sit in a chunk cache (readers whose
# batches do not start at multiples of 64 should open files with rdcc_nbytes of a few
# chunks). The reader steps through a file in multiples of 64 events, so every chunk is
# written whole, once.
H5_CHUNK_EVENTS = 64
# LZ4 by default: the images are ~99 % zeros, which every filter compresses 20-60 fold, so
# speed decides, and LZ4 decompresses several times faster than gzip (benchmarks/ measures
# it). Readers need `import hdf5plugin` (done by this module).
COMPRESSION_FILTERS = {
    "lz4": lambda: dict(hdf5plugin.LZ4()),
    "zstd": lambda: dict(hdf5plugin.Zstd(clevel=1)),
    "gzip": lambda: {"compression": "gzip", "compression_opts": 4},
    "none": lambda: {},
}


@dataclass(frozen=True)
class ImagesConfig:
    """Config section ``images``. Its defaults live in the schema only
    (workflow/schemas/images.schema.yaml): :meth:`from_filled` takes a section whose
    defaults are filled in (the rules', from the Snakefile's validated config);
    :meth:`from_section` fills a partial section first (callers outside the workflow)."""

    time_channel: bool
    splits: Mapping[str, float]
    chunk_events: int  # events in memory at a time: never changes the file's contents
    compression: str
    allow_no_hits_in_window: bool  # never changes the contents of a file written

    @classmethod
    def from_section(cls, section: Mapping | None) -> ImagesConfig:
        """The config section ``images``, validated, the schema's defaults for what it leaves out."""
        return cls.from_filled(settings.section("images", section))

    @classmethod
    def from_filled(cls, section: Mapping) -> ImagesConfig:
        """The ``images`` section of a validated config, every default already filled in."""
        values = settings.filled("images", section, [f.name for f in dataclasses.fields(cls)])
        return cls(**{**values, "splits": splits.check_fractions(values["splits"])})

    @property
    def n_channels(self) -> int:
        return 2 if self.time_channel else 1

    @property
    def read_step(self) -> int:
        """Events read at a time: ``chunk_events`` rounded up to whole HDF5 chunks."""
        return -(-self.chunk_events // H5_CHUNK_EVENTS) * H5_CHUNK_EVENTS


@dataclass(frozen=True)
class Sample:
    """The sample a hit file belongs to, as the config names it."""

    name: str = ""
    has_truth: bool | None = None  # None: read it from the file (rootio.HitFile)


def convert_file(
    root_path,
    h5_path,
    config: ImagesConfig | None = None,
    *,
    spec: rootio.InputSpec | None = None,
    sample: Sample = Sample(),
    summary_path=None,
    progress: bool = False,
) -> dict:
    """Convert one ROOT hit file to one HDF5 image file; returns (and writes) its summary.

    ``config`` and ``spec`` default to the schema's defaults of sections ``images`` and
    ``input``. The HDF5 file is written under a temporary name in the same directory and
    renamed when complete: on any error nothing is left under ``h5_path``.
    """
    started = time.perf_counter()
    spec = spec if spec is not None else rootio.InputSpec.from_section({})
    config = config if config is not None else ImagesConfig.from_section({})
    with rootio.HitFile(root_path, spec, has_truth=sample.has_truth, need_time=config.time_channel) as hit_file:
        n_events = hit_file.num_entries
        if n_events == 0 and not spec.allow_empty_tree:
            raise rootio.InputFileError(
                root_path, f"TTree '{spec.tree}' has no entries (set input.allow_empty_tree to write an empty file)"
            )
        with safe_write.atomic_output(h5_path) as tmp:
            summary = _write_images(hit_file, tmp, n_events, config, sample.name, progress)
            if summary["hits_read"] and not summary["hits_drawn"] and not config.allow_no_hits_in_window:
                raise rootio.InputFileError(root_path, summaries.no_hits_in_window(summary) + (
                    "; set images.allow_no_hits_in_window to write its blank images"
                ))
    summary.update(output=str(h5_path), seconds=round(time.perf_counter() - started, 3))
    summaries.warn_about(summary)
    if summary_path is not None:
        safe_write.write_json(summary_path, summary)
    return summary


def _write_images(hit_file, tmp, n_events, config, sample, progress) -> dict:
    from tqdm import tqdm

    source, spec = hit_file.path, hit_file.spec
    step = config.read_step
    scatterer = ImageScatterer(min(step, _whole_chunks(max(n_events, 1))), config.n_channels)
    totals = summaries.empty_totals(hit_file.has_truth)
    with h5py.File(tmp, "w") as h5:
        _create_datasets(h5, n_events, config.n_channels, hit_file.has_truth, config.compression)
        _write_attributes(h5, hit_file, config, sample)
        columns = _ColumnWriter(h5)
        with tqdm(total=n_events, unit="event", disable=not progress, desc=Path(source).name) as bar:
            for chunk in hit_file.chunks(step):
                start = chunk.entry_start
                _, counters = scatterer.fill(
                    chunk.hits, chunk.counts, source=source, entry_start=start, label=spec.label
                )
                _write_image_chunks(h5, scatterer, start, chunk.n_events, config.compression)
                event_columns = _event_columns(chunk, config, hit_file.has_truth, source, spec.label)
                columns.add(event_columns)
                summaries.accumulate(totals, counters, event_columns)
                bar.update(chunk.n_events)
        columns.flush()
    return summaries.file_summary(hit_file, sample, n_events, totals)


def _write_attributes(h5, hit_file, config, sample) -> None:
    attrs = h5.attrs
    attrs["has_truth"] = bool(hit_file.has_truth)
    attrs["n_channels"] = config.n_channels
    attrs["energy_normalisation"] = ENERGY_NORMALISATION
    attrs["energy_scale_mev"] = ENERGY_SCALE_MEV
    if config.time_channel:
        attrs["time_normalisation"] = TIME_NORMALISATION
        attrs["time_scale_ns"] = TIME_SCALE_NS
    attrs["geometry_version"] = geometry.GEOMETRY_VERSION
    attrs["source_file"] = Path(hit_file.path).name
    attrs["source_path"] = str(Path(hit_file.path).resolve())
    attrs["sample"] = sample
    attrs["tree"] = hit_file.spec.tree
    attrs["split_fractions"] = json.dumps(dict(config.splits))
    attrs["eventid_encoding"] = "run * 10**10 + subrun * 10**6 + gate * 100 + slice"


def _create_datasets(h5, n_events, n_channels, has_truth, compression):
    filters = COMPRESSION_FILTERS[compression]()
    for key in VIEW_KEYS:
        shape = (n_channels, N_STRIPS, VIEW_WIDTH[key])
        h5.create_dataset(
            DATASET_OF_VIEW[key],
            shape=(n_events, *shape),
            maxshape=(None, *shape),
            dtype=np.float32,
            chunks=(H5_CHUNK_EVENTS, *shape),
            **filters,
        )
    # Per-event columns are small: one chunk of many events each, same filter.
    columns = {"eventids": np.uint64, "split": np.uint8}
    if has_truth:
        columns.update(segments=np.uint8, planecodes=np.uint16, zs=np.float32)
        columns.update({f"gen_data/{name}": np.float32 for name in rootio.TRUTH_FLOAT_BRANCHES})
        columns.update({f"gen_data/{name}": np.int32 for name in rootio.TRUTH_INT_BRANCHES})
    for name, dtype in columns.items():
        h5.create_dataset(name, shape=(n_events,), maxshape=(None,), dtype=dtype, chunks=(65536,), **filters)


# --- per-event columns: event ids, labels, truth -----------------------------------------
# MINERvA's event id: decimal digits run | subrun (4) | gate (4) | slice (2), as MINERvA's
# HDF5 makers encode it (decoded by their decode_eventid and image_contract.unpack_eventids).
_MAX_RUN = (np.iinfo(np.uint64).max - 10**10 + 1) // 10**10


def pack_eventids(run, subrun, gate, slice_, *, source="hits", entry_start=0) -> np.ndarray:
    """MINERvA's 64-bit event ids; ValueError naming the branch and entry if a field does not fit."""
    fields = {"run": run, "subrun": subrun, "gate": gate, "slice": slice_}
    limits = {"run": _MAX_RUN + 1, **dict((name, limit) for name, limit in image_contract.EVENTID_FIELDS)}
    for name, values in fields.items():
        values = np.asarray(values)
        bad = np.flatnonzero((values < 0) | (values >= limits[name]))
        if bad.size:
            raise rootio.InputFileError(
                source,
                f"branch '{name}' entry {entry_start + int(bad[0])}: value {values[bad[0]]} "
                f"does not fit MINERvA's event id (expected 0 to {limits[name] - 1})",
            )
    ids = np.asarray(run, dtype=np.uint64) * np.uint64(10**10)
    ids += np.asarray(subrun, dtype=np.uint64) * np.uint64(10**6)
    ids += np.asarray(gate, dtype=np.uint64) * np.uint64(100)
    ids += np.asarray(slice_, dtype=np.uint64)
    return ids


def segment_labels(vtx_z) -> dict[str, np.ndarray]:
    """``segments`` (uint8), ``planecodes`` (uint16), ``zs`` (float32) of true vertex z (mm)."""
    z = np.asarray(vtx_z, dtype=np.float64)
    return {
        "segments": geometry.segment_of_z(z).astype(np.uint8),
        "planecodes": geometry.planecode_of_z(z).astype(np.uint16),
        "zs": z.astype(np.float32),
    }


def _check_truth(chunk, source, label):
    for name in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z"):
        bad = ~np.isfinite(chunk.truth[name])
        if bad.any():
            entry = chunk.entry_start + int(np.flatnonzero(bad)[0])
            raise rootio.InputFileError(
                source, f"branch {label(name)} entry {entry}: {chunk.truth[name][bad][0]}; expected a finite vertex"
            )


def _event_columns(chunk, config, has_truth, source, label) -> dict:
    start = chunk.entry_start
    ids = pack_eventids(*(chunk.ids[n] for n in rootio.ID_BRANCHES), source=source, entry_start=start)
    columns = {"eventids": ids, "split": splits.split_of(ids, config.splits)}
    if has_truth:
        _check_truth(chunk, source, label)
        columns.update(segment_labels(chunk.truth["mc_vtx_z"]))
        columns.update({f"gen_data/{name}": chunk.truth[name] for name in rootio.TRUTH_BRANCHES})
    return columns


class _ColumnWriter:
    """Per-event columns (ids, split, labels, truth), gathered over many read chunks and
    written in blocks: one small HDF5 write per column and chunk would cost more than the
    images."""

    FLUSH_EVENTS = 65536

    def __init__(self, h5):
        self.h5, self.start, self.pending, self.n = h5, 0, {}, 0

    def add(self, columns: dict) -> None:
        for name, values in columns.items():
            self.pending.setdefault(name, []).append(values)
        self.n += len(next(iter(columns.values())))
        if self.n >= self.FLUSH_EVENTS:
            self.flush()

    def flush(self) -> None:
        for name, parts in self.pending.items():
            self.h5[name][self.start : self.start + self.n] = np.concatenate(parts)
        self.start, self.pending, self.n = self.start + self.n, {}, 0


# --- image chunks, compressed here -------------------------------------------------------
def _whole_chunks(n_events: int) -> int:
    return -(-n_events // H5_CHUNK_EVENTS) * H5_CHUNK_EVENTS


def _encode_lz4(block: np.ndarray) -> bytes:
    """A chunk as the HDF5 LZ4 filter (id 32004, hdf5plugin.LZ4() defaults) stores it:
    original size (u64, big endian), block size (u32), then one block: compressed size
    (u32) and LZ4 block data, or the raw bytes when they do not compress."""
    size = block.nbytes
    packed = bytes(cramjam.lz4.compress_block(block, store_size=False))
    if len(packed) >= size:
        return struct.pack(">QII", size, size, size) + block.tobytes()
    return struct.pack(">QII", size, size, len(packed)) + packed


def _encode_zstd(block: np.ndarray) -> bytes:
    """A chunk as the HDF5 Zstd filter (id 32015) stores it: one Zstandard frame."""
    return bytes(cramjam.zstd.compress(block, level=1))


# The images are the bulk of the output (50 kB per event and channel before compression)
# and compressing them is the largest single cost of the conversion. Compressing whole
# chunks ourselves and handing them to HDF5 with write_direct_chunk skips HDF5's filter
# pipeline and its copies: 15-25 % less CPU than HDF5 running the same filter
# (benchmarks/), and byte for byte what the LZ4 filter writes (tests check).
DIRECT_ENCODERS = {"lz4": _encode_lz4, "zstd": _encode_zstd}


def _write_image_chunks(h5, scatterer, start, n_events, compression) -> None:
    encode = DIRECT_ENCODERS.get(compression)
    for key in VIEW_KEYS:
        dataset, buffer = h5[DATASET_OF_VIEW[key]], scatterer.buffers[key]
        if encode is None:
            dataset[start : start + n_events] = buffer[:n_events]
            continue
        # Whole chunks only: the buffer is zero past n_events, as HDF5 pads an edge chunk.
        for first in range(0, _whole_chunks(n_events), H5_CHUNK_EVENTS):
            block = buffer[first : first + H5_CHUNK_EVENTS]
            dataset.id.write_direct_chunk((start + first, 0, 0, 0), encode(block))
