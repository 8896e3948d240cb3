"""Hits to x/u/v images with segment labels, written in MINERvA's flat HDF5 layout.

Images: ``hits-x`` (N, C, 127, 50), ``hits-u`` and ``hits-v`` (N, C, 127, 25) float32; axes
event, channel, strip (height), plane column (width, z order; ``geometry.PLANES``).

- Channel 0, energy: pixel = sum of the visible energy (MeV) of the hits in the pixel,
  divided by ``ENERGY_SCALE_MEV`` = 3.4 MeV, what a minimum-ionising particle leaves
  crossing one plane at normal incidence (MINERVA.md: most probable 1.7 MeV/cm), so a
  MIP hit is about 1 and showers are a few to tens: a range a CNN takes without rescaling.
- Channel 1 (config ``images.time_channel``), time: energy-weighted mean time of the
  pixel's hits minus the energy-weighted mean time of the event's drawn hits, divided by
  ``TIME_SCALE_NS`` = 10 ns (a choice: the spread of in-time hits is a few ns, late
  activity tens to hundreds). Pixels without energy hold 0.

Policies for bad input (each error names the file, the branch and the entry):

==========================================  =============================================
a hit with NaN, infinite or negative energy  error
a hit energy above ``MAX_HIT_ENERGY_MEV``     error
a hit time NaN or infinite (time channel)     error
a strip outside 0-126, a plane not 1 or 2     error
a module not in the geometry                  error (target slots, numbers below -5 or
                                              above ``DETECTOR_LAST_MODULE``)
a view that disagrees with the geometry       error
a hit outside the image window (modules       dropped, counted ``outside_window``
downstream of the window, up to 114)          (warned when most of a file's hits are)
a file with hits but none in the window       error, unless
                                              ``images.allow_no_hits_in_window``
an event without hits (or none drawn)         kept as an empty image, counted
run/subrun/gate/slice that cannot be packed   error
a truth vertex that is not finite             error
==========================================  =============================================

File-level problems (missing, not ROOT, truncated, no tree or branch, wrong branch type,
an empty tree unless ``input.allow_empty_tree``) are errors from :mod:`minerva_vertex.rootio`.
"""

from __future__ import annotations

import json
import logging
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import awkward as ak
import cramjam
import h5py
import hdf5plugin
import numpy as np

from minerva_vertex import geometry, image_contract, rootio, safe_write, splits

log = logging.getLogger(__name__)

ENERGY_SCALE_MEV = 3.4  # MIP across one plane at normal incidence (MINERVA.md: 1.7 MeV/cm)
ENERGY_NORMALISATION = (
    "pixel = summed visible hit energy in MeV / 3.4 MeV (a minimum-ionising particle crossing "
    "one plane at normal incidence, 1.7 MeV/cm most probable)"
)
TIME_SCALE_NS = 10.0  # a choice, see the module docstring
# The largest visible energy one hit may carry. A strip is 1.7 cm of scintillator: a
# particle crossing it leaves a few MeV, one stopping in it or running along its length a
# few hundred MeV at most. 100 GeV is more than a whole NuMI neutrino event can deposit
# (the beam's protons carry 120 GeV), so a larger value is a unit or a filling error, not
# physics; it also keeps every float32 pixel sum finite.
MAX_HIT_ENERGY_MEV = 1.0e5
TIME_NORMALISATION = (
    "pixel = (energy-weighted mean hit time of the pixel - energy-weighted mean time of the "
    "event's drawn hits) / 10 ns; 0 where the pixel has no energy"
)
# MINERvA numbers its module slots from -5 to 114 (NukeCC numbering, MINERvA's public
# geometry; not in MINERVA.md): modules past the image window up to 114 (the rest of the
# tracker, ECAL, HCAL) are real but not drawn.
DETECTOR_LAST_MODULE = 114
WINDOW_LAST_MODULE = int(geometry.PLANES.module.max())

VIEW_KEYS = image_contract.VIEW_KEYS
IMAGE_HEIGHT = image_contract.N_STRIPS
IMAGE_WIDTH = image_contract.VIEW_WIDTH
DATASET_OF_VIEW = image_contract.DATASET_OF_VIEW
# A true vertex further than this from the image window's first or last plane cannot be
# seen in the images; it is counted (``vertices_outside_window``) and the user warned.
# One module of tolerance (44.2 mm between modules, MINERVA.md).
VERTEX_WINDOW_MARGIN_MM = 44.2
WINDOW_Z_MM = (float(geometry.PLANES.z.min()), float(geometry.PLANES.z.max()))

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

# MINERvA's event id: decimal digits run | subrun (4) | gate (4) | slice (2), as MINERvA's
# HDF5 makers encode it (decoded by their decode_eventid).
EVENTID_FIELDS = image_contract.EVENTID_FIELDS
unpack_eventids = image_contract.unpack_eventids
_MAX_RUN = (np.iinfo(np.uint64).max - 10**10 + 1) // 10**10


# --- configuration -----------------------------------------------------------------------
@dataclass(frozen=True)
class ImagesConfig:
    """Config section ``images``."""

    time_channel: bool
    splits: Mapping[str, float]
    chunk_events: int  # events in memory at a time: never changes the file's contents
    compression: str
    allow_no_hits_in_window: bool = False  # never changes the contents of a file written

    @classmethod
    def from_config(cls, section: Mapping | None) -> ImagesConfig:
        """The config section ``images``, the schema's defaults for what it leaves out."""
        from minerva_vertex import settings

        values = settings.section("images", section)
        return cls(
            time_channel=values["time_channel"],
            splits=splits.check_fractions(values["splits"]),
            chunk_events=values["chunk_events"],
            compression=values["compression"],
            allow_no_hits_in_window=values["allow_no_hits_in_window"],
        )

    @property
    def n_channels(self) -> int:
        return 2 if self.time_channel else 1

    @property
    def read_step(self) -> int:
        """Events read at a time: ``chunk_events`` rounded up to whole HDF5 chunks."""
        return -(-self.chunk_events // H5_CHUNK_EVENTS) * H5_CHUNK_EVENTS


# --- event ids ---------------------------------------------------------------------------
def pack_eventids(run, subrun, gate, slice_, *, source="hits", entry_start=0) -> np.ndarray:
    """MINERvA's 64-bit event ids; ValueError naming the branch and entry if a field does not fit."""
    fields = {"run": run, "subrun": subrun, "gate": gate, "slice": slice_}
    limits = {"run": _MAX_RUN + 1, **dict((name, limit) for name, limit in EVENTID_FIELDS)}
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


# --- hits to pixels ----------------------------------------------------------------------
def _hit_error(source, branch, counts, entry_start, hit, message):
    offsets = np.concatenate([[0], np.cumsum(counts)])
    event = int(np.searchsorted(offsets, hit, side="right") - 1)
    return rootio.InputFileError(
        source, f"branch {branch} entry {entry_start + event} (hit {hit - offsets[event]}): {message}"
    )


# (module, plane) -> plane row lookup over every module slot of the detector, derived from
# geometry.plane_row once: row >= 0 drawn, OUTSIDE_WINDOW real but not drawn, UNKNOWN_PLANE
# not a plane of the geometry. One gather per hit instead of several comparisons.
OUTSIDE_WINDOW, UNKNOWN_PLANE = -2, -1
FIRST_MODULE = int(geometry.PLANES.module.min())
_LUT_MODULES = np.arange(FIRST_MODULE, DETECTOR_LAST_MODULE + 1)
_ROW_LUT = np.stack([geometry.plane_row(_LUT_MODULES, plane) for plane in (1, 2)], axis=1)
_ROW_LUT[(_LUT_MODULES > WINDOW_LAST_MODULE)] = OUTSIDE_WINDOW
_ROW_LUT = _ROW_LUT.reshape(-1)


def _check_energy(energy, fail) -> None:
    bad = ~(energy >= 0) | np.isinf(energy)  # NaN fails every comparison
    if bad.any():
        fail(bad, "hit_energy", lambda i: f"energy {energy[i]} MeV; expected a finite value >= 0")
    bad = energy > MAX_HIT_ENERGY_MEV
    if bad.any():
        fail(
            bad,
            "hit_energy",
            lambda i: f"energy {energy[i]:g} MeV; expected at most {MAX_HIT_ENERGY_MEV:g} MeV "
            "(more than a whole neutrino event deposits: a unit or filling error?)",
        )


def locate_hits(hits, counts, *, need_time=False, source="hits", entry_start=0, label=None):
    """Validate hits and find their planes: row in ``geometry.PLANES`` per hit, negative
    (``OUTSIDE_WINDOW``) for hits that are not drawn.

    ``label(name)`` names a contract branch in messages (the file's own name if remapped).
    Raises :class:`rootio.InputFileError` for the error policies of the module docstring.
    """
    label = label or (lambda name: f"'{name}'")
    energy = hits["hit_energy"]

    def fail(mask, branch, message):
        hit = int(np.flatnonzero(mask)[0])
        raise _hit_error(source, label(branch), counts, entry_start, hit, message(hit))

    _check_energy(energy, fail)
    if need_time:
        t = hits["hit_time"]
        bad = ~np.isfinite(t)
        if bad.any():
            fail(bad, "hit_time", lambda i: f"time {t[i]} ns; expected a finite value")
    strip, plane, module, view = (hits[k] for k in ("hit_strip", "hit_plane", "hit_module", "hit_view"))
    bad = (strip < 0) | (strip >= IMAGE_HEIGHT)
    if bad.any():
        fail(bad, "hit_strip", lambda i: f"strip {strip[i]}; expected 0-{IMAGE_HEIGHT - 1}")
    bad = (plane < 1) | (plane > 2)
    if bad.any():
        fail(bad, "hit_plane", lambda i: f"plane {plane[i]}; expected 1 (upstream) or 2 (downstream)")
    slot = module.astype(np.int64) - FIRST_MODULE
    known_module = (slot >= 0) & (slot < len(_LUT_MODULES))
    rows = _ROW_LUT[np.where(known_module, slot * 2 + plane - 1, 0)]
    bad = ~known_module | (rows == UNKNOWN_PLANE)
    if bad.any():
        fail(
            bad,
            "hit_module",
            lambda i: f"module {module[i]} plane {plane[i]} is not in geometry {geometry.GEOMETRY_VERSION} "
            f"(window modules {FIRST_MODULE}-{WINDOW_LAST_MODULE} without target slots, "
            f"outside the window up to {DETECTOR_LAST_MODULE})",
        )
    drawn = rows >= 0
    expected_view = np.where(drawn, geometry.PLANES.view[np.maximum(rows, 0)], view)
    bad = (view != expected_view) | (view < 1) | (view > 3)
    if bad.any():
        names = geometry.VIEW_NAMES
        fail(
            bad,
            "hit_view",
            lambda i: (
                f"view {view[i]} for module {module[i]} plane {plane[i]}; the geometry says "
                f"{expected_view[i]} ({names.get(int(expected_view[i]), '?').upper()})"
                if drawn[i]
                else f"view {view[i]}; expected 1 (X), 2 (U) or 3 (V)"
            ),
        )
    return rows


class ImageScatterer:
    """Scatters hits into reusable image buffers for up to ``max_events`` events at a time.

    The three views share one flat buffer (x block, u block, v block, each event-major), so
    every hit's pixel is one flat index and one ``np.add.at`` fills all views. Buffers are
    allocated once and only the touched pixels are zeroed again, so a file costs memory for
    one chunk, not for the file, and no time clearing pixels that stayed empty.
    """

    def __init__(self, max_events: int, n_channels: int = 1, energy_scale_mev: float = ENERGY_SCALE_MEV):
        if n_channels not in (1, 2):
            raise ValueError(f"n_channels must be 1 (energy) or 2 (energy, time), not {n_channels}")
        self.max_events = int(max_events)
        self.n_channels = n_channels
        self.energy_scale_mev = float(energy_scale_mev)
        sizes = [self.max_events * n_channels * IMAGE_HEIGHT * IMAGE_WIDTH[key] for key in VIEW_KEYS]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        self._flat = np.zeros(starts[-1], dtype=np.float32)
        self.buffers = {
            key: self._flat[starts[i] : starts[i + 1]].reshape(
                self.max_events, n_channels, IMAGE_HEIGHT, IMAGE_WIDTH[key]
            )
            for i, key in enumerate(VIEW_KEYS)
        }
        # Per plane row: flat offset of its column in its view's block, and its view's width.
        block_start = {code: starts[i] for i, code in enumerate(geometry.VIEWS)}
        self._row_offset = np.array(
            [block_start[v] + c for v, c in zip(geometry.PLANES.view, geometry.PLANES.column)], dtype=np.int64
        )
        self._row_width = np.array([geometry.N_COLUMNS[v] for v in geometry.PLANES.view], dtype=np.int64)
        self._touched: list[np.ndarray] = []

    def clear(self) -> None:
        """Zero the pixels written since the last clear."""
        for index in self._touched:
            self._flat[index] = 0.0
        self._touched.clear()

    def fill(self, hits, counts, *, source="hits", entry_start=0, label=None):
        """Images of one block of events: dict of views (views into the buffers) and counters."""
        self.clear()
        counts = np.asarray(counts, dtype=np.int64)
        n_events = len(counts)
        if n_events > self.max_events:
            raise ValueError(f"{n_events} events do not fit buffers for {self.max_events}")
        need_time = self.n_channels == 2
        rows = locate_hits(hits, counts, need_time=need_time, source=source, entry_start=entry_start, label=label)
        drawn = rows >= 0
        all_drawn = bool(drawn.all())
        event = np.repeat(np.arange(n_events, dtype=np.int64), counts)
        strip, energy = hits["hit_strip"], hits["hit_energy"]
        if not all_drawn:
            event, rows, strip, energy = event[drawn], rows[drawn], strip[drawn], energy[drawn]
        width = self._row_width[rows]
        index = self._row_offset[rows] + (event * (self.n_channels * IMAGE_HEIGHT) + strip) * width
        energy = energy.astype(np.float32) * np.float32(1.0 / self.energy_scale_mev)
        np.add.at(self._flat, index, energy)
        self._touched.append(index)
        if need_time:
            self._fill_time(hits["hit_time"] if all_drawn else hits["hit_time"][drawn], event, energy, index, width)
        drawn_per_event = np.bincount(event, minlength=n_events)
        counters = {
            "hits_read": int(counts.sum()),
            "hits_drawn": int(len(index)),
            "hits_dropped": {"outside_window": int(counts.sum() - len(index))},
            "events_without_hits": int((counts == 0).sum()),
            "events_without_drawn_hits": int((drawn_per_event == 0).sum()),
        }
        return {key: self.buffers[key][:n_events] for key in VIEW_KEYS}, counters

    def _fill_time(self, t, event, energy, index, width) -> None:
        """Channel 1: energy-weighted pixel time relative to the event's (see module docstring)."""
        n_events = self.max_events
        weight = energy.astype(np.float64)
        sum_w = np.bincount(event, weights=weight, minlength=n_events)
        sum_wt = np.bincount(event, weights=weight * t, minlength=n_events)
        t_event = np.divide(sum_wt, sum_w, out=np.zeros(n_events), where=sum_w > 0)
        t_rel = ((t - t_event[event]) / TIME_SCALE_NS).astype(np.float32)
        time_index = index + IMAGE_HEIGHT * width
        np.add.at(self._flat, time_index, energy * t_rel)
        pixel_energy = self._flat[index]
        self._flat[time_index] = np.divide(
            self._flat[time_index], pixel_energy, out=np.zeros_like(pixel_energy), where=pixel_energy > 0
        )
        self._touched.append(time_index)


def _flat_hits(hits, counts):
    """Per-hit numpy arrays and counts from awkward jagged arrays or flat arrays + counts."""
    first = next(iter(hits.values()))
    if counts is None:
        if not isinstance(first, ak.Array):
            raise ValueError("flat hit arrays need `counts` (hits per event)")
        counts = ak.num(first, axis=1)
    flat = {}
    for name, values in hits.items():
        if isinstance(values, ak.Array):
            values = ak.flatten(values, axis=1)
        flat[name] = np.asarray(values)
    return flat, np.asarray(counts, dtype=np.int64)


def hits_to_images(hits, n_channels=1, counts=None, *, energy_scale_mev=ENERGY_SCALE_MEV, source="hits"):
    """Images of events given as hit lists, in memory.

    ``hits``: dict of contract hit branches (``hit_module``, ``hit_plane``, ``hit_view``,
    ``hit_strip``, ``hit_energy``, and ``hit_time`` for 2 channels), either awkward jagged
    arrays (one list per event) or flat numpy arrays with ``counts`` (hits per event).

    Returns ``{"x", "u", "v"}`` float32 arrays (N, C, 127, W) and the counters
    ``hits_read``, ``hits_drawn``, ``hits_dropped`` (by reason), ``events_without_hits``,
    ``events_without_drawn_hits``. Bad hits raise :class:`rootio.InputFileError`.
    """
    needed = ["hit_module", "hit_plane", "hit_view", "hit_strip", "hit_energy"] + (
        ["hit_time"] if n_channels == 2 else []
    )
    missing = [name for name in needed if name not in hits]
    if missing:
        raise ValueError(f"hits_to_images: no {', '.join(missing)} among the hits ({', '.join(hits)})")
    flat, counts = _flat_hits(hits, counts)
    scatterer = ImageScatterer(len(counts), n_channels, energy_scale_mev)
    images, counters = scatterer.fill(flat, counts, source=source)
    return {**images, **counters}


def segment_labels(vtx_z) -> dict[str, np.ndarray]:
    """``segments`` (uint8), ``planecodes`` (uint16), ``zs`` (float32) of true vertex z (mm)."""
    z = np.asarray(vtx_z, dtype=np.float64)
    return {
        "segments": geometry.segment_of_z(z).astype(np.uint8),
        "planecodes": geometry.planecode_of_z(z).astype(np.uint16),
        "zs": z.astype(np.float32),
    }


# --- the HDF5 file -----------------------------------------------------------------------
def _create_datasets(h5, n_events, n_channels, has_truth, compression):
    filters = COMPRESSION_FILTERS[compression]()
    for key in VIEW_KEYS:
        shape = (n_channels, IMAGE_HEIGHT, IMAGE_WIDTH[key])
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


def _check_truth(chunk, source, label):
    for name in ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z"):
        bad = ~np.isfinite(chunk.truth[name])
        if bad.any():
            entry = chunk.entry_start + int(np.flatnonzero(bad)[0])
            raise rootio.InputFileError(
                source, f"branch {label(name)} entry {entry}: {chunk.truth[name][bad][0]}; expected a finite vertex"
            )


def convert_file(
    root_path,
    h5_path,
    *,
    sample: str = "",
    input_config: Mapping | rootio.InputSpec | None = None,
    images_config: Mapping | ImagesConfig | None = None,
    has_truth: bool | None = None,
    summary_path=None,
    progress: bool = False,
) -> dict:
    """Convert one ROOT hit file to one HDF5 image file; returns (and writes) its summary.

    The HDF5 file is written under a temporary name in the same directory and renamed when
    complete: on any error nothing is left under ``h5_path``.
    """
    started = time.perf_counter()
    spec = input_config if isinstance(input_config, rootio.InputSpec) else rootio.InputSpec.from_config(input_config)
    config = images_config if isinstance(images_config, ImagesConfig) else ImagesConfig.from_config(images_config)
    with rootio.HitFile(root_path, spec, has_truth=has_truth, need_time=config.time_channel) as hit_file:
        n_events = hit_file.num_entries
        if n_events == 0 and not spec.allow_empty_tree:
            raise rootio.InputFileError(
                root_path, f"TTree '{spec.tree}' has no entries (set input.allow_empty_tree to write an empty file)"
            )
        with safe_write.atomic_output(h5_path) as tmp:
            summary = _write_images(hit_file, tmp, n_events, config, sample, progress)
            if summary["hits_read"] and not summary["hits_drawn"] and not config.allow_no_hits_in_window:
                raise rootio.InputFileError(root_path, _no_hits_in_window(summary) + (
                    "; set images.allow_no_hits_in_window to write its blank images"
                ))
    summary.update(output=str(h5_path), seconds=round(time.perf_counter() - started, 3))
    warn_about(summary)
    if summary_path is not None:
        safe_write.write_json(summary_path, summary)
    return summary


def _no_hits_in_window(summary: Mapping) -> str:
    return (
        f"all {summary['hits_read']} hits lie outside the image window (modules {FIRST_MODULE}-"
        f"{WINDOW_LAST_MODULE}): is the module numbering MINERvA's?"
    )


def warn_about(summary: Mapping) -> None:
    """Warn, naming the file and the share, when its hits miss the image window or its
    vertices lie outside it (one line each: job_log puts them on the console too)."""
    source = summary["source_file"]
    if summary["hits_read"] and summary["hits_drawn"] == 0:
        log.warning("%s: %s", source, _no_hits_in_window(summary))
    elif summary["hits_read"] and summary["hits_drawn"] < 0.5 * summary["hits_read"]:
        share = 1 - summary["hits_drawn"] / summary["hits_read"]
        log.warning(
            "%s: %.0f %% of the hits (%d of %d) lie outside the image window",
            source, 100 * share, summary["hits_read"] - summary["hits_drawn"], summary["hits_read"],
        )
    outside = summary.get("vertices_outside_window", 0)
    if outside:
        log.warning(
            "%s: %d true vertices of %d (%.1f %%) lie more than %.0f mm outside the image window "
            "(z %.0f-%.0f mm); they are labelled segment 0 or 10 but cannot be seen in the images",
            source, outside, summary["events_written"], 100 * outside / max(summary["events_written"], 1),
            VERTEX_WINDOW_MARGIN_MM, *WINDOW_Z_MM,
        )


def vertices_outside_window(vtx_z) -> int:
    z = np.asarray(vtx_z, dtype=np.float64)
    return int(np.sum((z < WINDOW_Z_MM[0] - VERTEX_WINDOW_MARGIN_MM) | (z > WINDOW_Z_MM[1] + VERTEX_WINDOW_MARGIN_MM)))


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


def _event_columns(chunk, config, has_truth, source, label) -> dict:
    start = chunk.entry_start
    ids = pack_eventids(*(chunk.ids[n] for n in rootio.ID_BRANCHES), source=source, entry_start=start)
    columns = {"eventids": ids, "split": splits.split_of(ids, config.splits)}
    if has_truth:
        _check_truth(chunk, source, label)
        columns.update(segment_labels(chunk.truth["mc_vtx_z"]))
        columns.update({f"gen_data/{name}": chunk.truth[name] for name in rootio.TRUTH_BRANCHES})
    return columns


def _write_images(hit_file, tmp, n_events, config, sample, progress) -> dict:
    from tqdm import tqdm

    source, spec = hit_file.path, hit_file.spec
    step = config.read_step
    scatterer = ImageScatterer(min(step, _whole_chunks(max(n_events, 1))), config.n_channels)
    totals = _empty_totals(hit_file.has_truth)
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
                _accumulate(totals, counters, event_columns)
                bar.update(chunk.n_events)
        columns.flush()
    return _file_summary(hit_file, sample, n_events, totals)


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


def _empty_totals(has_truth):
    totals = {
        "hits_read": 0,
        "hits_drawn": 0,
        "hits_dropped": {"outside_window": 0},
        "events_without_hits": 0,
        "events_without_drawn_hits": 0,
        "split": np.zeros(len(splits.SPLIT_NAMES), dtype=np.int64),
    }
    if has_truth:
        totals["segments"] = np.zeros(geometry.N_SEGMENTS, dtype=np.int64)
        totals["vertices_outside_window"] = 0
    return totals


def _accumulate(totals, counters, columns) -> None:
    for key, value in counters.items():
        if isinstance(value, dict):
            for reason, n in value.items():
                totals[key][reason] = totals[key].get(reason, 0) + n
        else:
            totals[key] += value
    totals["split"] += np.bincount(columns["split"], minlength=len(splits.SPLIT_NAMES))
    if "segments" in totals:
        totals["segments"] += np.bincount(columns["segments"], minlength=geometry.N_SEGMENTS)
        totals["vertices_outside_window"] += vertices_outside_window(columns["zs"])


def _file_summary(hit_file, sample, n_events, totals) -> dict:
    summary = {
        "sample": sample,
        "source_file": hit_file.path,
        "has_truth": bool(hit_file.has_truth),
        "events_read": n_events,
        "events_written": n_events,
        "events_without_hits": totals["events_without_hits"],
        "events_without_drawn_hits": totals["events_without_drawn_hits"],
        "hits_read": totals["hits_read"],
        "hits_drawn": totals["hits_drawn"],
        "hits_dropped": totals["hits_dropped"],
        "split": dict(zip(splits.SPLIT_NAMES, totals["split"].tolist())),
    }
    if hit_file.has_truth:
        summary["segments"] = totals["segments"].tolist()
        summary["vertices_outside_window"] = totals["vertices_outside_window"]
    return summary


SUMMED_KEYS = (
    "events_read",
    "events_written",
    "events_without_hits",
    "events_without_drawn_hits",
    "hits_read",
    "hits_drawn",
)


def sample_summary(file_summaries: list[dict], sample: str = "") -> dict:
    """Totals of a sample's per-file summaries, with the files listed."""
    total = {"sample": sample, "n_files": len(file_summaries), **{key: 0 for key in SUMMED_KEYS}}
    total["hits_dropped"], total["split"] = {}, {name: 0 for name in splits.SPLIT_NAMES}
    segments = np.zeros(geometry.N_SEGMENTS, dtype=np.int64)
    for summary in file_summaries:
        for key in SUMMED_KEYS:
            total[key] += summary[key]
        for reason, n in summary["hits_dropped"].items():
            total["hits_dropped"][reason] = total["hits_dropped"].get(reason, 0) + n
        for name, n in summary["split"].items():
            total["split"][name] += n
        if "segments" in summary:
            segments += np.asarray(summary["segments"])
    truth = {s["has_truth"] for s in file_summaries}
    total["has_truth"] = truth.pop() if len(truth) == 1 else "mixed"
    if total["has_truth"] is True:
        total["segments"] = segments.tolist()
        total["vertices_outside_window"] = sum(s.get("vertices_outside_window", 0) for s in file_summaries)
    total["files"] = [{"source_file": s["source_file"], "output": s.get("output")} for s in file_summaries]
    return total


def gather_summaries(paths, output, sample: str = "", image_files=()) -> dict:
    """Read per-file summary JSONs and write the sample's summary. The sample's
    ``image_files``, complete now, are checked for shared event ids
    (:func:`image_contract.check_sample_ids`) before anything else reads them together."""
    image_contract.check_sample_ids(image_files)
    summary = sample_summary([json.loads(Path(p).read_text()) for p in paths], sample)
    safe_write.write_json(output, summary)
    return summary
