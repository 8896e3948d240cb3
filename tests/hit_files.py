"""Small ROOT hit files for the tests of the ROOT reader and the image stage.

Files are written with uproot (TTree, hit lists as C arrays with a counter, as uproot
writes them); the ROOT-6-written fixtures (std::vector branches) are in ../shared/fixtures.
"""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import uproot

from minerva_vertex import geometry
from shared_files import FIXTURES

VECTORS_SIM = FIXTURES / "root6_vectors_sim.root"
VECTORS_DATA = FIXTURES / "root6_vectors_data.root"
CARRAYS_SIM = FIXTURES / "root6_carrays_sim.root"
HIT_FIELDS = ("module", "plane", "view", "strip", "energy", "time")


def make_events(n_events: int, seed: int = 0, *, truth: bool = True, run: int = 5) -> dict:
    """Contract branches of ``n_events`` toy events: a track of hits over consecutive planes."""
    rng = np.random.default_rng(seed)
    n_planes = len(geometry.PLANES)
    first = rng.integers(0, n_planes - 5, n_events)
    n_hit_planes = np.minimum(rng.integers(3, 30, n_events), n_planes - first)
    counts = 2 * n_hit_planes
    event = np.repeat(np.arange(n_events), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    row = first[event] + within // 2
    strip = np.clip(rng.integers(10, 117, n_events)[event] + rng.integers(-2, 3, len(event)), 0, 126)
    hits = {
        "module": geometry.PLANES.module[row],
        "plane": geometry.PLANES.plane[row],
        "view": geometry.PLANES.view[row],
        "strip": strip.astype(np.int32),
        "energy": rng.gamma(2.0, 1.5, len(event)).astype(np.float32),
        "time": (5000 + rng.normal(0, 5, len(event))).astype(np.float32),
    }
    branches = {
        "run": np.full(n_events, run, np.int32),
        "subrun": np.full(n_events, 1, np.int32),
        "gate": np.arange(1, n_events + 1, dtype=np.int32),
        "slice": np.ones(n_events, np.int32),
        "hits": {name: ak.unflatten(values, counts) for name, values in hits.items()},
    }
    if truth:
        branches.update(
            mc_vtx_x=rng.normal(0, 300, n_events).astype(np.float32),
            mc_vtx_y=rng.normal(0, 300, n_events).astype(np.float32),
            mc_vtx_z=rng.uniform(4300, 6500, n_events).astype(np.float32),
            mc_targetZ=np.full(n_events, 26, np.int32),
            mc_intType=np.full(n_events, 3, np.int32),
            mc_incomingE=np.full(n_events, 6000.0, np.float32),
            mc_Q2=np.full(n_events, 1.0e6, np.float32),
            mc_w=np.full(n_events, 1500.0, np.float32),
        )
    return branches


def write_hit_file(path, branches: dict, *, tree: str = "minerva", hit_prefix: str = "hit") -> Path:
    """Write ``branches`` (``make_events`` layout) as a TTree; hit fields share one counter.

    ``branches["hits"]`` is a dict of jagged arrays, written as ``{hit_prefix}_{field}``
    with the counter ``n{hit_prefix}``. Other entries are per-event arrays, or jagged arrays
    written with a counter of their own.
    """
    data = {}
    for name, values in branches.items():
        if name == "hits":
            data[hit_prefix] = ak.zip(dict(values))
        else:
            data[name] = values
    types = {name: (v.type if isinstance(v, ak.Array) else np.asarray(v).dtype) for name, v in data.items()}
    with uproot.recreate(path) as out:
        out.mktree(tree, types)
        if len(next(iter(data.values()))):
            out[tree].extend(data)
    return Path(path)


def flat_hits(branches: dict) -> dict:
    """Contract hit branches of ``make_events`` output (``hit_module`` ...) as jagged arrays."""
    return {f"hit_{name}": values for name, values in branches["hits"].items()}
