"""Events end to end: beam, interactions, particles, response -> contract branches.

Randomness comes in chunks of ``CHUNK_EVENTS`` events, chunk k of a stream drawing from
``SeedSequence([seed, stream, k])`` (vertices and kinematics; each later step from a
stream spawned from it): the same seed gives the same events whatever the
number of files, jobs or cores, and any slice of events can be generated on its own.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import awkward as ak
import numpy as np

from .. import geometry as geo
from .beam import neutrino_energy_gev
from .accidentals import rock_muons
from .interactions import draw_kinematics, final_state, place_vertices
from .models import PhysicsModel
from .particles import Deposits, propagate
from .response import Hits, dead_channel_map, respond
from .writer import write_root

log = logging.getLogger(__name__)

CHUNK_EVENTS = 500
SPILL_NS = 10_000.0  # NuMI spill: events happen uniformly within about 10 microseconds

EVENT_ID_BRANCHES = ("run", "subrun", "gate", "slice")
GATES_PER_SLICE = 9999
HIT_BRANCHES = ("hit_module", "hit_plane", "hit_view", "hit_strip", "hit_energy", "hit_time")
TRUTH_BRANCHES = ("mc_vtx_x", "mc_vtx_y", "mc_vtx_z", "mc_targetZ", "mc_intType", "mc_incomingE", "mc_Q2", "mc_w")
BRANCHES = EVENT_ID_BRANCHES + HIT_BRANCHES + TRUTH_BRANCHES
_PLANE_MODULE = geo.PLANES.module.astype(np.int32)
_PLANE_NUMBER = geo.PLANES.plane.astype(np.int32)
_PLANE_VIEW = geo.PLANES.view.astype(np.int32)


def generate(model: PhysicsModel, n_events: int, seed: int, first_event: int = 0, stream: int = 0) -> dict:
    """Events ``first_event`` .. ``first_event + n_events - 1`` of the stream (seed, stream),
    as the contract branches (per-hit branches jagged awkward arrays)."""
    if n_events < 0 or first_event < 0:
        raise ValueError(f"n_events ({n_events}) and first_event ({first_event}) must not be negative")
    dead = dead_channel_map(model.dead_channel_fraction, model.dead_channel_seed)
    first_chunk = first_event // CHUNK_EVENTS
    last_chunk = max(first_chunk, math.ceil((first_event + n_events) / CHUNK_EVENTS) - 1)
    chunks = [_chunk(model, seed, stream, k, dead) for k in range(first_chunk, last_chunk + 1)]
    start = first_event - first_chunk * CHUNK_EVENTS
    # Per-hit columns stay flat until the end: one unflatten per branch.
    counts = np.concatenate([c["n_hits"] for c in chunks])
    offsets = np.concatenate([[0], np.cumsum(counts)])
    counts = counts[start : start + n_events]
    hits = slice(offsets[start], offsets[start + len(counts)])
    branches = {name: ak.unflatten(np.concatenate([c[name] for c in chunks])[hits], counts) for name in HIT_BRANCHES}
    for name in TRUTH_BRANCHES:
        branches[name] = np.concatenate([c[name] for c in chunks])[start : start + n_events]
    branches["run"] = np.full(n_events, seed % 2**31, dtype=np.int32)
    branches["subrun"] = np.full(n_events, stream, dtype=np.int32)
    # MINERvA's event id keeps four digits of gate and two of slice: gates 1-9999 repeat
    # with the next slice, so a file holds up to 989,901 distinct events.
    index = np.arange(first_event, first_event + n_events)
    branches["gate"] = (index % GATES_PER_SLICE + 1).astype(np.int32)
    branches["slice"] = (index // GATES_PER_SLICE + 1).astype(np.int32)
    return {name: branches[name] for name in BRANCHES}


def _chunk(model: PhysicsModel, seed: int, stream: int, index: int, dead: np.ndarray) -> dict:
    """One chunk of events: truth branches, flat hit columns and ``n_hits`` per event."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, stream, index]))
    n = CHUNK_EVENTS
    energy = neutrino_energy_gev(rng, n, model.beam_mean_gev, model.beam_shape)
    x, y, z, nucleus = place_vertices(rng, n, model.segment_weights)
    kin = draw_kinematics(rng, energy)
    event_time = rng.uniform(0.0, SPILL_NS, n)
    vertex = np.stack([x, y, z], axis=1)
    # Each step draws from its own stream, so that a model differing in one step only
    # (the response, the transport, the FSI, the overlay) gives the same events up to it.
    fsi_rng, transport_rng, overlay_rng, response_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, stream, index, 1]).spawn(4)
    )
    deposits = propagate(transport_rng, final_state(fsi_rng, kin, vertex, event_time, model, nucleus), model)
    if model.rock_muon_fraction > 0:
        overlay = propagate(overlay_rng, rock_muons(overlay_rng, n, event_time, model), model)
        deposits = Deposits.concat([deposits, overlay])
    hits = respond(response_rng, deposits, n, event_time, model, dead)
    branches = _hit_columns(hits, n)
    branches.update(
        mc_vtx_x=x.astype(np.float32), mc_vtx_y=y.astype(np.float32), mc_vtx_z=z.astype(np.float32),
        mc_targetZ=nucleus.astype(np.int32), mc_intType=kin.int_type.astype(np.int32),
        mc_incomingE=(energy * 1e3).astype(np.float32), mc_Q2=(kin.q2 * 1e6).astype(np.float32),
        mc_w=(kin.w * 1e3).astype(np.float32),
    )
    return branches


def _hit_columns(hits: Hits, n_events: int) -> dict:
    """Flat contract columns of the hits (sorted by event) and the hit count per event."""
    return {
        "n_hits": np.bincount(hits.event, minlength=n_events),
        "hit_module": _PLANE_MODULE[hits.plane_row],
        "hit_plane": _PLANE_NUMBER[hits.plane_row],
        "hit_view": _PLANE_VIEW[hits.plane_row],
        "hit_strip": hits.strip.astype(np.int32),
        "hit_energy": hits.energy.astype(np.float32),
        "hit_time": hits.time.astype(np.float32),
    }


def simulate_file(model: PhysicsModel, n_events: int, seed: int, part_index: int, path) -> Path:
    """One ROOT file of a simulated sample: part ``part_index`` (its own random stream and
    subrun), written atomically."""
    log.info("simulating %d events (seed %d, part %d) -> %s", n_events, seed, part_index, path)
    branches = generate(model, n_events, seed, first_event=0, stream=part_index)
    return write_root(path, branches)
