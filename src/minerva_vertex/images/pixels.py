"""Hits to pixels: where each hit lands in the x/u/v images and what the pixel holds.

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

The checks of each hit (energy, time, strip, plane, module, view) are the hit rows of the
policy table in :mod:`minerva_vertex.images`.
"""

from __future__ import annotations

import awkward as ak
import numpy as np

from minerva_vertex import geometry, rootio
from minerva_vertex.image_contract import N_STRIPS, VIEW_KEYS, VIEW_WIDTH

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
    bad = (strip < 0) | (strip >= N_STRIPS)
    if bad.any():
        fail(bad, "hit_strip", lambda i: f"strip {strip[i]}; expected 0-{N_STRIPS - 1}")
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
        sizes = [self.max_events * n_channels * N_STRIPS * VIEW_WIDTH[key] for key in VIEW_KEYS]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        self._flat = np.zeros(starts[-1], dtype=np.float32)
        self.buffers = {
            key: self._flat[starts[i] : starts[i + 1]].reshape(
                self.max_events, n_channels, N_STRIPS, VIEW_WIDTH[key]
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
        index = self._row_offset[rows] + (event * (self.n_channels * N_STRIPS) + strip) * width
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
        time_index = index + N_STRIPS * width
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

