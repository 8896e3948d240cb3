"""Speed of the track-based vertex on one core, on simulated events with and without hadrons.

    python benchmarks/bench_tracking.py [--events 4000] [--seed 5]

Prints events per second (wall and CPU time, one thread) and, as a by-product, the segment
accuracy and no-vertex fraction of the events it timed.
"""

import os

# One core: keep numpy's thread pools to one thread before numpy loads.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from minerva_vertex import geometry, image_contract, images, simulation, tracking  # noqa: E402

HIT_BRANCHES = ("hit_module", "hit_plane", "hit_view", "hit_strip", "hit_energy", "hit_time")


def simulated_images(n_events: int, seed: int, **knobs):
    branches = simulation.generate(simulation.PhysicsModel.from_config(knobs), n_events, seed)
    imgs = images.hits_to_images({name: branches[name] for name in HIT_BRANCHES}, n_channels=1)
    return {key: imgs[key] for key in image_contract.VIEW_KEYS}, np.asarray(branches["mc_vtx_z"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    params = tracking.TrackingParams.from_section({})
    for label, knobs in (("nominal (with hadrons)", {}), ("muon only", {"muon_only": True})):
        imgs, true_z = simulated_images(args.events, args.seed, **knobs)
        tracking.reconstruct(
            {key: value[:64] for key, value in imgs.items()}, images.ENERGY_SCALE_MEV, params
        )  # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        out = tracking.reconstruct(imgs, images.ENERGY_SCALE_MEV, params)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        accuracy = np.mean(out["segment"] == geometry.segment_of_z(true_z))
        no_vertex = np.mean(out["quality"] == tracking.QUALITY_NO_TRACK)
        print(
            f"{label:24s} {args.events} events: {args.events / wall:7.0f} events/s wall, "
            f"{args.events / cpu:7.0f} events/s CPU (one thread); segment accuracy {accuracy:.3f}, "
            f"no vertex {no_vertex:.3f}"
        )


if __name__ == "__main__":
    main()
