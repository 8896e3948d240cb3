"""Detector response: deposits in planes -> strip hits.

Per deposit: the triangular strips share the energy (linear in the position between the two
strip centres the track crosses), neighbouring strips see cross-talk, noise hits join. Per
strip and event: energies add up (the time is the light-weighted mean); then photostatistics
(Poisson in photoelectrons), the calibration (energy scale), dead channels, the readout
threshold and the time resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry as geo
from .particles import Deposits

N_PLANES = len(geo.PLANES)
# Per plane: the coordinate a plane measures is cos * x + sin * y (via geometry).
_PLANE_COS = geo.transverse_coordinate(geo.PLANES.view, 1.0, 0.0)
_PLANE_SIN = geo.transverse_coordinate(geo.PLANES.view, 0.0, 1.0)
CROSSTALK_NEW_STRIP_MEV = 0.1
NOISE_TIME_WINDOW_NS = (-50.0, 150.0)  # noise hits inside the event's time slice


@dataclass
class Hits:
    """Hits sorted by event, plane row (z order) and strip."""

    event: np.ndarray
    plane_row: np.ndarray
    strip: np.ndarray
    energy: np.ndarray  # MeV
    time: np.ndarray  # ns


def dead_channel_map(fraction: float, seed: int) -> np.ndarray:
    """(planes, strips) bool: the channels that never give a hit (fixed per model)."""
    return np.random.default_rng(seed).random((N_PLANES, geo.N_STRIPS)) < fraction


def strip_shares(deposits: Deposits) -> tuple[np.ndarray, np.ndarray]:
    """The two triangles a track crosses share its energy linearly in its position between
    their centres: lower strip and the share of the upper one, per deposit."""
    row = deposits.plane_row
    position = geo.strip_coordinate(_PLANE_COS[row] * deposits.x + _PLANE_SIN[row] * deposits.y)
    lower = np.floor(position)
    return lower.astype(np.int64), position - lower


def noise_deposits(rng, n_events: int, event_time: np.ndarray, model) -> tuple[np.ndarray, ...]:
    """Noise hits: event, plane row, strip, true energy and time of each."""
    counts = rng.poisson(model.noise_hits_per_event, n_events)
    event = np.repeat(np.arange(n_events), counts)
    n = len(event)
    # In visible-energy units, like every deposit: the calibration (energy scale) acts on
    # noise as on light, and a model differing in the scale draws the same noise.
    energy = model.threshold_mev + rng.exponential(max(model.noise_energy_mev, 1e-9), n)
    time = event_time[event] + rng.uniform(*NOISE_TIME_WINDOW_NS, n)
    return event, rng.integers(0, N_PLANES, n), rng.integers(0, geo.N_STRIPS, n), energy, time


# Strip keys: (event * planes + plane row) * _SLOTS + strip + 1, with one empty slot beyond
# each edge of a plane to collect what falls off the strips (and never leak further).
_SLOTS = geo.N_STRIPS + 2


def _merge(key: np.ndarray, *weights: np.ndarray):
    """Sum ``weights`` over equal (non-negative) keys; returns the sorted unique keys and the
    sums. Sorting keys with their index packed into the low bits is a plain integer sort,
    several times faster than an argsort; the sums are bincounts (linear)."""
    if not len(key):
        return key, *(w[:0] for w in weights)
    bits = int(len(key) - 1).bit_length()
    if int(key.max()) < 2 ** (62 - bits):
        packed = np.sort((key << bits) | np.arange(len(key)))
        order, key = packed & ((1 << bits) - 1), packed >> bits
    else:
        order = np.argsort(key, kind="stable")
        key = key[order]
    new_key = np.r_[True, key[1:] != key[:-1]]
    group = np.empty(len(key), np.int64)
    group[order] = np.cumsum(new_key) - 1  # each entry's unique key, in input order
    n = int(group[order[-1]]) + 1
    return key[new_key], *(np.bincount(group, weights=w, minlength=n) for w in weights)


def add_crosstalk(key: np.ndarray, energy: np.ndarray, light_time: np.ndarray, fraction: float):
    """Each strip gives ``fraction`` of its light to each neighbour. Light reaching a strip
    without light of its own makes a new strip only if it is at least
    CROSSTALK_NEW_STRIP_MEV (smaller amounts cannot pass a threshold). ``key`` is sorted
    and unique, so a strip's neighbour, if it has light, is the next (previous) entry."""
    if fraction <= 0 or not len(key):
        return key, energy, light_time
    leak = energy * fraction
    leak_time = leak * (light_time / np.maximum(energy, 1e-12))
    out, light_time = energy - 2 * leak, light_time * (1 - 2 * fraction)
    adjacent = key[1:] == key[:-1] + 1  # entry k + 1 is the upper neighbour of entry k
    out[:-1] += np.where(adjacent, leak[1:], 0.0)
    out[1:] += np.where(adjacent, leak[:-1], 0.0)
    light_time[:-1] += np.where(adjacent, leak_time[1:], 0.0)
    light_time[1:] += np.where(adjacent, leak_time[:-1], 0.0)
    strong = leak >= CROSSTALK_NEW_STRIP_MEV
    up = np.flatnonzero(strong & np.r_[~adjacent, True])  # upper neighbour without light
    down = np.flatnonzero(strong & np.r_[True, ~adjacent])
    # The few new strips (none of them among ``key``) go in at their sorted places.
    fresh_key, fresh_leak, fresh_time = _merge(
        np.concatenate([key[down] - 1, key[up] + 1]), leak[np.r_[down, up]], leak_time[np.r_[down, up]]
    )
    place = np.searchsorted(key, fresh_key)
    return np.insert(key, place, fresh_key), np.insert(out, place, fresh_leak), np.insert(light_time, place, fresh_time)


def respond(rng, deposits: Deposits, n_events: int, event_time: np.ndarray, model, dead: np.ndarray) -> Hits:
    """Hits of a batch of events; a strip's time is the light-weighted mean of its deposits."""
    lower, upper_share = strip_shares(deposits)
    noise_event, noise_row, noise_strip, noise_energy, noise_time = noise_deposits(rng, n_events, event_time, model)
    slot = np.clip(lower, -1, geo.N_STRIPS) + 1
    base = (deposits.event * N_PLANES + deposits.plane_row) * _SLOTS
    key = np.concatenate([base + slot, base + np.minimum(slot + 1, _SLOTS - 1),
                          (noise_event * N_PLANES + noise_row) * _SLOTS + noise_strip + 1])
    energy = np.concatenate([deposits.energy * (1 - upper_share), deposits.energy * upper_share, noise_energy])
    light_time = energy * np.concatenate([deposits.time, deposits.time, noise_time])
    key, energy, light_time = _merge(key, energy, light_time)
    key, energy, light_time = add_crosstalk(key, energy, light_time, model.crosstalk_fraction)

    plane_key, slot = np.divmod(key, _SLOTS)
    strip = slot - 1
    on_strip = (strip >= 0) & (strip < geo.N_STRIPS) & (energy > 0)
    photoelectrons = rng.poisson(np.where(on_strip, energy, 0.0) * model.light_yield_pe_per_mev)
    measured = photoelectrons / model.light_yield_pe_per_mev * model.energy_scale
    keep = on_strip & (measured >= model.threshold_mev)
    jitter = rng.normal(0.0, model.time_resolution_ns, np.count_nonzero(keep))  # only kept hits need one
    keep = np.flatnonzero(keep)
    event, row = np.divmod(plane_key[keep], N_PLANES)
    alive = ~dead[row, strip[keep]] if dead.any() else np.ones(len(keep), bool)
    keep = keep[alive]
    time = light_time[keep] / np.maximum(energy[keep], 1e-12) + jitter[alive]
    return Hits(event[alive], row[alive], strip[keep], measured[keep], time)
