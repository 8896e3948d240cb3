"""Where a straight line crosses the layer stack: flat numpy arrays of (particle, layer)
crossings inside the inner detector, only the layers each particle can reach.

Every transport step of the toy (charged tracks, photon showers, neutrons) walks these
crossings; the per-layer material constants they are weighed with live here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry as geo
from .materials import INNER_DETECTOR_APOTHEM_MM, STACK


@dataclass
class Crossings:
    """The layers each particle crosses while inside the inner detector, flat: entries
    grouped by particle (``track``, in particle order), each particle's in the order it
    travels. Only layers it can reach are listed (see ``_window``); positions are computed
    on demand (``at``) for the entries that need them."""

    track: np.ndarray  # particle of each entry
    first: np.ndarray  # (particles + 1,) index of each particle's first entry; last = total
    layer: np.ndarray  # layer index
    path: np.ndarray  # mm in the layer's material (0 where the region has none)
    middle: np.ndarray  # z of the middle of the crossing
    start: np.ndarray  # (particles, 3) start of each particle
    direction: np.ndarray  # (particles, 3)
    cos: np.ndarray  # |cos| of each particle's polar angle, capped for grazing tracks

    def at(self, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distance (mm from the start) and x, y of the middle of the given crossings."""
        t = self.track[entries]
        distance = np.abs(self.middle[entries] - self.start[t, 2]) / self.cos[t]
        x = self.start[t, 0] + self.direction[t, 0] * distance
        return distance, x, self.start[t, 1] + self.direction[t, 1] * distance

    def offset(self, cumulative: np.ndarray) -> np.ndarray:
        """Per entry: ``cumulative`` (a running sum over all entries) just before its
        particle's first entry."""
        before = np.concatenate([[0], cumulative])[self.first[:-1]]
        return np.repeat(before, np.diff(self.first))

    def cumsum(self, values: np.ndarray) -> np.ndarray:
        """Per particle: the sum of its entries so far (this one included)."""
        total = np.cumsum(values)
        return total - self.offset(total)


# Layers and scintillator planes in z order: planes among layers [0, k) is _PLANES_BEFORE[k].
_PLANES_BEFORE = np.concatenate([[0], np.cumsum(STACK.plane_row >= 0)])
# A plane takes at least this much range (scintillator g/cm2) from a track that crosses it
# whole (PLANE_THICKNESS_MM at normal incidence); a little less to be safe from rounding.
_MIN_RANGE_PER_PLANE = 0.999 * geo.SCINTILLATOR_G_PER_CM2
_REGION_NAMES = ("all", "fe_side", "pb_side", "c_half", "fe_third", "pb_sixth")  # geometry.in_region
_REGION_CODES = {name: code for code, name in enumerate(_REGION_NAMES)}
_LAYER_REGION = np.array([_REGION_CODES[r] for r in STACK.region])
_THICKNESS = STACK.z_hi - STACK.z_lo
RANGE_PER_MM = STACK.density / 10.0 * STACK.loss_ratio  # scintillator-equivalent g/cm2 per mm
INTERACTIONS_PER_MM = 1.0 / STACK.interaction_length_mm
RADIATION_LENGTHS_PER_MM = 1.0 / STACK.radiation_length_mm
_MIDDLE = 0.5 * (STACK.z_lo + STACK.z_hi)  # sorted, as z_lo and z_hi are
_MAX_OVERLAP = max(int(np.sum((STACK.z_lo <= z) & (z < STACK.z_hi))) for z in STACK.z_lo)
# Outward normals of the sides of the hexagon of geometry.in_fiducial (apothem along x).
_HEXAGON_NORMALS = np.array([[1.0, 0.0], [-1.0, 0.0], [0.5, np.sqrt(3.0) / 2], [-0.5, np.sqrt(3.0) / 2],
                             [0.5, -np.sqrt(3.0) / 2], [-0.5, -np.sqrt(3.0) / 2]]).T


def _inner_detector_interval(pos: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distances along each straight line between which it is inside the inner detector
    (the hexagon of geometry.in_fiducial); empty (entry > exit) where it never is."""
    speed = direction[:, :2] @ _HEXAGON_NORMALS  # (particles, sides): towards each side
    room = INNER_DETECTOR_APOTHEM_MM - pos[:, :2] @ _HEXAGON_NORMALS
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = room / speed
    leave = np.where(speed > 0, limit, np.inf).min(axis=1)
    enter = np.where(speed < 0, limit, -np.inf).max(axis=1)
    never = ((speed == 0) & (room < 0)).any(axis=1)  # parallel to a side, beyond it
    return enter, np.where(never, -np.inf, leave)


def _first_crossing(z0, forward, layer):
    """z range of each particle's crossing of ``layer`` (from its start on)."""
    z_lo, z_hi = STACK.z_lo[layer], STACK.z_hi[layer]
    return np.where(forward, np.maximum(z_lo, z0), z_lo), np.where(forward, z_hi, np.minimum(z_hi, z0))


def _window(pos: np.ndarray, direction: np.ndarray, forward: np.ndarray, cos: np.ndarray, reach_g_cm2=None):
    """First layer (in travel order), number of layers and distance of leaving the inner
    detector of each particle. The layers are those ahead of its start, up to where it
    leaves the inner detector (judged at the middle of each crossing)
    and, given ``reach_g_cm2`` (scintillator-equivalent range), where the planes alone would
    have stopped it: cut layers could never hold an active step. A particle whose first
    crossing is outside gets none (it never comes back inside along a straight line)."""
    z0 = pos[:, 2]
    n_layers = len(STACK)
    # Forward: the layers ending beyond z0; backward: those starting before it.
    first = np.where(forward, np.searchsorted(STACK.z_hi, z0, "right"), np.searchsorted(STACK.z_lo, z0, "left") - 1)
    enter, leave = _inner_detector_interval(pos, direction)
    lo, hi = _first_crossing(z0, forward, np.clip(first, 0, n_layers - 1))
    first_distance = np.abs(0.5 * (lo + hi) - z0) / cos
    starts_inside = (first_distance >= enter) & (first_distance <= leave)
    reach_z = np.where(starts_inside, leave * cos, 0.0)
    # Layers the start lies in come first and always stay (their middles are checked exactly).
    end_forward = np.maximum(np.searchsorted(_MIDDLE, z0 + reach_z, "right"), np.searchsorted(STACK.z_lo, z0, "left"))
    end_backward = np.minimum(np.searchsorted(_MIDDLE, z0 - reach_z, "left"), np.searchsorted(STACK.z_hi, z0, "right"))
    end = np.where(forward, end_forward, end_backward - 1)
    if reach_g_cm2 is not None:
        planes = reach_g_cm2 / _MIN_RANGE_PER_PLANE + 1  # planes it can cross beyond the first
        start_fwd = _PLANES_BEFORE[np.minimum(first + 1, n_layers)]
        start_bwd = _PLANES_BEFORE[np.clip(first, 0, n_layers)]
        end = np.where(forward, np.minimum(end, np.searchsorted(_PLANES_BEFORE, start_fwd + planes, "left") + 1),
                       np.maximum(end, np.searchsorted(_PLANES_BEFORE, start_bwd - planes, "right") - 3))
    count = np.where(starts_inside, np.maximum(np.where(forward, end - first, first - end), 0), 0)
    return first, count, leave


def crossings(pos: np.ndarray, direction: np.ndarray, reach_g_cm2=None) -> Crossings:
    """The crossings of particles starting at ``pos`` along ``direction`` (unit vectors);
    ``reach_g_cm2``: each one's range, to list only the layers it can reach."""
    forward = direction[:, 2] >= 0
    cos = np.maximum(np.abs(direction[:, 2]), 0.05)  # cap the path of grazing tracks
    first_layer, count, leave = _window(pos, direction, forward, cos, reach_g_cm2)
    first = np.concatenate([[0], np.cumsum(count)])
    track = np.repeat(np.arange(len(count)), count)
    step = np.arange(first[-1]) - np.repeat(first[:-1], count)
    layer = np.repeat(first_layer, count) + np.where(np.repeat(forward, count), step, -step)
    # Every layer is crossed whole but those the start lies in: among the first few
    # (passive slabs overlap in z, at most _MAX_OVERLAP deep).
    dz, middle = _THICKNESS[layer], _MIDDLE[layer]
    starts = (first[:-1, None] + np.arange(_MAX_OVERLAP)).ravel()
    starts = starts[starts < np.repeat(first[1:], _MAX_OVERLAP)]
    start_track = track[starts]
    lo, hi = _first_crossing(pos[start_track, 2], forward[start_track], layer[starts])
    dz[starts] = np.clip(hi - lo, 0, None)
    middle[starts] = 0.5 * (lo + hi)
    path = dz / np.repeat(cos, count)
    c = Crossings(track, first, layer, path, middle, pos, direction, cos)
    # A crossing of the start's layers whose middle is outside the inner detector holds nothing.
    distance, _, _ = c.at(starts)
    path[starts[distance > leave[start_track]]] = 0.0
    passive = np.flatnonzero(_LAYER_REGION[layer] > 0)  # passive material only inside its region
    _, x, y = c.at(passive)
    path[passive] *= _in_region(_LAYER_REGION[layer[passive]], x, y)
    return c


def _in_region(code: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """geometry.in_region for points each with its own region (``_REGION_CODES``)."""
    result = np.ones(len(code), dtype=bool)
    for name, value in _REGION_CODES.items():
        sel = np.flatnonzero(code == value)
        if value and len(sel):
            result[sel] = geo.in_region(name, x[sel], y[sel])
    return result
