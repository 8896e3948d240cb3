"""Benchmark of the image stage (ROOT hits -> HDF5 images): speed and memory on one core.

    python benchmarks/bench_images.py [--events-small 10000] [--events-large 200000]

Input files come from the project's simulation (minerva_vertex.simulation): a file of the
default samples' size (30000 events in 3 files: 10000 each), and a large file made of the
same simulated events repeated under new event ids (simulating 200k events would take
minutes; the conversion cost depends only on the hits, not on where they came from). Files
are kept in benchmarks/output/ and reused.

Prints, all measured in this run:
Times are CPU seconds of the process (user + system), so that other work on the machine
does not count; the conversion runs on one core.

- events/s of the conversion for both files;
- conversion time / bare ``uproot`` reading of the same branches, same file, same step;
- speed-up over a straightforward per-event Python loop doing the same conversion
  (on the first events of the file; events/s compared);
- peak resident memory of a conversion in a fresh process, for both files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLOSC_NTHREADS"):
    os.environ.setdefault(_var, "1")  # one core

import awkward as ak  # noqa: E402
import h5py  # noqa: E402
import hdf5plugin  # noqa: E402
import numpy as np  # noqa: E402
import uproot  # noqa: E402

from minerva_vertex import geometry, images, rootio, simulation, splits  # noqa: E402

OUTPUT = Path(__file__).resolve().parent / "output"


# --- input files ---------------------------------------------------------------------------
def simulated_file(n_events: int, seed: int = 11) -> Path:
    path = OUTPUT / f"sim_{n_events}_{seed}.root"
    if not path.exists():
        print(f"simulating {n_events} events ...", flush=True)
        model = simulation.PhysicsModel.from_config({})
        branches = simulation.generate(model, n_events, seed)
        # MINERvA's event id holds gates 0-9999: number past that by slice.
        index = np.arange(n_events)
        branches["gate"] = (index % 9999 + 1).astype(np.int32)
        branches["slice"] = (index // 9999 + 1).astype(np.int32)
        simulation.write_root(path, branches)
    return path


def repeated_file(source: Path, n_events: int) -> Path:
    """``n_events`` events: the source file's events again and again, each copy its own subrun."""
    path = OUTPUT / f"repeated_{n_events}_{source.stem}.root"
    if path.exists():
        return path
    print(f"writing {n_events} events ...", flush=True)
    tree = uproot.open(source)["minerva"]
    events = tree.arrays(library="ak")
    hit_names = [n for n in events.fields if n.startswith("hit_")]
    base = {n: events[n].to_numpy() for n in events.fields if not n.startswith("hit_") and n != "n_hits"}
    hits = ak.zip({n[4:]: events[n] for n in hit_names})
    tmp = path.with_suffix(".tmp")
    with uproot.recreate(tmp, compression=uproot.ZSTD(3)) as out:  # as simulation.write_root
        types = {n: v.dtype for n, v in base.items()} | {"hit": hits.type}
        out.mktree("minerva", types, counter_name=lambda counted: "n_hits")
        written, copy = 0, 0
        while written < n_events:
            take = min(len(events), n_events - written)
            block = {n: v[:take] for n, v in base.items()}
            block["subrun"] = np.full(take, copy + 1, dtype=block["subrun"].dtype)
            block["hit"] = hits[:take]
            out["minerva"].extend(block)
            written, copy = written + take, copy + 1
    os.replace(tmp, path)
    return path


# --- the three ways of reading/converting ----------------------------------------------------
def bare_read(path: Path, step: int) -> float:
    """Seconds to read the branches the conversion reads, with uproot alone."""
    spec = rootio.InputSpec.from_section({})
    with rootio.HitFile(path, spec) as hit_file:
        names = [spec.branches[n] for n in hit_file.branch_names()]
    start = time.process_time()
    for _ in uproot.open(path)["minerva"].iterate(names, step_size=step, library="ak", how=dict):
        pass
    return time.process_time() - start


def conversion(path: Path, out: Path, config: images.ImagesConfig) -> float:
    start = time.process_time()
    images.convert_file(path, out, config)
    return time.process_time() - start


LOOKUP = {
    (int(m), int(p)): (int(v), int(c))
    for m, p, v, c in zip(geometry.PLANES.module, geometry.PLANES.plane, geometry.PLANES.view, geometry.PLANES.column)
}
LAST_WINDOW_MODULE = int(geometry.PLANES.module.max())


def loop_event(block, i, hits) -> None:
    """One event's hits into ``block`` (view -> images), checked hit by hit."""
    for module, plane, view, strip, energy in hits:
        if not (energy >= 0 and energy != float("inf")) or not 0 <= strip < 127 or plane not in (1, 2):
            raise ValueError("bad hit")
        if (module, plane) not in LOOKUP:
            if LAST_WINDOW_MODULE < module <= images.DETECTOR_LAST_MODULE:
                continue
            raise ValueError("bad module")
        want_view, column = LOOKUP[(module, plane)]
        if view != want_view:
            raise ValueError("bad view")
        block[view][i, 0, strip, column] += energy / images.ENERGY_SCALE_MEV


def scatter_only(path: Path, n_events: int, step: int) -> dict:
    """Hits -> images in memory only (no reading, no writing): vectorised vs the loop."""
    with rootio.HitFile(path) as hit_file:
        chunks = [c for c, _ in zip(hit_file.chunks(step), range(-(-n_events // step)))]
    scatterer = images.ImageScatterer(step)
    start = time.process_time()
    for chunk in chunks:
        scatterer.fill(chunk.hits, chunk.counts)
    fast = time.process_time() - start
    widths = {1: 50, 2: 25, 3: 25}
    start = time.process_time()
    for chunk in chunks:
        block = {v: np.zeros((chunk.n_events, 1, 127, w), np.float32) for v, w in widths.items()}
        lists = [chunk.hits[k].tolist() for k in rootio.HIT_BRANCHES[:-1]]
        offsets = np.concatenate([[0], np.cumsum(chunk.counts)]).tolist()
        for i in range(chunk.n_events):
            loop_event(block, i, zip(*(values[offsets[i] : offsets[i + 1]] for values in lists)))
    loop = time.process_time() - start
    n = sum(c.n_events for c in chunks)
    return {"events": n, "vectorised_events_per_s": n / fast, "loop_events_per_s": n / loop, "speedup": loop / fast}


def loop_conversion(path: Path, out: Path, n_events: int, config: images.ImagesConfig) -> float:
    """The same conversion written plainly: a Python loop over events and hits, with a
    dict for the geometry, the same checks, labels and ids, HDF5 through its LZ4 filter."""
    widths = {1: 50, 2: 25, 3: 25}
    start = time.process_time()
    tree = uproot.open(path)["minerva"]
    names = list(rootio.ID_BRANCHES + rootio.HIT_BRANCHES[:-1] + rootio.TRUTH_BRANCHES)
    with h5py.File(out, "w") as h5:
        sets = {
            v: h5.create_dataset(
                f"hits-{geometry.VIEW_NAMES[v]}",
                (n_events, 1, 127, w),
                "f4",
                chunks=(64, 1, 127, w),
                **hdf5plugin.LZ4(),
            )
            for v, w in widths.items()
        }
        columns = {
            n: h5.create_dataset(n, (n_events,), t)
            for n, t in (("eventids", "u8"), ("split", "u1"), ("segments", "u1"))
        }
        first = 0
        for arrays in tree.iterate(names, step_size=config.read_step, entry_stop=n_events, library="ak", how=dict):
            n = len(arrays["run"])
            block = {v: np.zeros((n, 1, 127, w), np.float32) for v, w in widths.items()}
            lists = {k: arrays[k].to_list() for k in names}
            ids, segs = [], []
            for i in range(n):
                loop_event(block, i, zip(*(lists[k][i] for k in rootio.HIT_BRANCHES[:-1])))
                ids.append(
                    lists["run"][i] * 10**10 + lists["subrun"][i] * 10**6 + lists["gate"][i] * 100 + lists["slice"][i]
                )
                segs.append(int(geometry.segment_of_z(lists["mc_vtx_z"][i])))
            for v in widths:
                sets[v][first : first + n] = block[v]
            columns["eventids"][first : first + n] = ids
            columns["split"][first : first + n] = splits.split_of(np.array(ids, dtype=np.uint64))
            columns["segments"][first : first + n] = segs
            first += n
    return time.process_time() - start


def read_speed(path: Path, compression: str, batch: int = 256) -> float:
    """Events/s reading a file's images back in contiguous batches, for one filter."""
    out = OUTPUT / f"read_{compression}.h5"
    images.convert_file(path, out, images.ImagesConfig.from_section({"compression": compression}))
    start = time.process_time()
    with h5py.File(out) as h5:
        n = h5["hits-x"].shape[0]
        for first in range(0, n, batch):
            for key in ("hits-x", "hits-u", "hits-v"):
                h5[key][first : first + batch]
    return n / (time.process_time() - start)


def peak_memory_mib(path: Path, out: Path) -> float:
    """Peak resident memory (MiB) of a fresh process that converts ``path``."""
    code = (
        "import resource, sys\n"
        "from minerva_vertex import images\n"
        "images.convert_file(sys.argv[1], sys.argv[2])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(path), str(out)], capture_output=True, text=True, check=True
    )
    return int(result.stdout.split()[-1]) / 1024  # Linux: kB


# --- main ----------------------------------------------------------------------------------
def measure(path: Path, config: images.ImagesConfig, repeats: int) -> dict:
    out = OUTPUT / f"{path.stem}.h5"
    n = uproot.open(path)["minerva"].num_entries
    reads, converts = [], []
    for _ in range(repeats):  # interleaved, best of each: the same conditions for both
        reads.append(bare_read(path, config.read_step))
        converts.append(conversion(path, out, config))
    with h5py.File(out) as h5:
        assert h5["hits-x"].shape[0] == n
    return {
        "events": n,
        "hits_per_event": float(ak.mean(ak.num(uproot.open(path)["minerva"]["hit_module"].array(entry_stop=2000)))),
        "bare_read_s": min(reads),
        "convert_s": min(converts),
        "events_per_s": n / min(converts),
        "ratio_to_bare_read": min(converts) / min(reads),
        "output_mb": out.stat().st_size / 1e6,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events-small", type=int, default=10_000, help="events of a default-sized file")
    parser.add_argument("--events-large", type=int, default=200_000)
    parser.add_argument("--loop-events", type=int, default=1000, help="events converted by the Python loop")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    config = images.ImagesConfig.from_section({})
    small = simulated_file(args.events_small)
    large = repeated_file(small, args.events_large)

    figures = {"small": measure(small, config, args.repeats), "large": measure(large, config, args.repeats)}
    loop_s = loop_conversion(small, OUTPUT / "loop.h5", args.loop_events, config)
    figures["loop_events_per_s"] = args.loop_events / loop_s
    figures["speedup_over_loop"] = figures["small"]["events_per_s"] / figures["loop_events_per_s"]
    figures["scatter_only"] = scatter_only(small, args.events_small, config.read_step)
    figures["read_events_per_s"] = {c: read_speed(small, c) for c in ("lz4", "zstd", "gzip")}
    figures["peak_rss_mib"] = {
        "small": peak_memory_mib(small, OUTPUT / "rss_small.h5"),
        "large": peak_memory_mib(large, OUTPUT / "rss_large.h5"),
    }

    print(f"\nimage conversion, one core (chunk_events={config.chunk_events}, compression={config.compression})")
    print(
        f"{'file':>8} {'events':>8} {'hits/ev':>8} {'events/s':>9} {'convert s':>10} "
        f"{'uproot s':>9} {'ratio':>6} {'MB out':>7}"
    )
    for name in ("small", "large"):
        f = figures[name]
        print(
            f"{name:>8} {f['events']:>8} {f['hits_per_event']:>8.0f} {f['events_per_s']:>9.0f} {f['convert_s']:>10.2f} "
            f"{f['bare_read_s']:>9.2f} {f['ratio_to_bare_read']:>6.2f} {f['output_mb']:>7.0f}"
        )
    print(
        f"per-event Python loop, whole conversion: {figures['loop_events_per_s']:.0f} events/s; "
        f"vectorised is {figures['speedup_over_loop']:.0f}x faster"
    )
    only = figures["scatter_only"]
    print(
        f"hits -> images alone ({only['events']} events, in memory): loop {only['loop_events_per_s']:.0f} events/s, "
        f"vectorised {only['vectorised_events_per_s']:.0f} events/s, {only['speedup']:.0f}x faster"
    )
    reads = figures["read_events_per_s"]
    print("reading images back, batches of 256: " + ", ".join(f"{c} {v:.0f} events/s" for c, v in reads.items()))
    rss = figures["peak_rss_mib"]
    print(
        f"peak RSS of a conversion: {rss['small']:.0f} MiB ({args.events_small} events), "
        f"{rss['large']:.0f} MiB ({args.events_large} events)"
    )
    (OUTPUT / "bench_images.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


if __name__ == "__main__":
    main()
