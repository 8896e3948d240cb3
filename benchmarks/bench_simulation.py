"""Speed of the toy simulation on one core: events per second of `generate` and of
`simulate_file` (generation plus the ROOT write), for both default models.

    python benchmarks/bench_simulation.py [--events 20000]
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"  # one core, before numpy is imported

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from minerva_vertex.simulation import CHUNK_EVENTS, PhysicsModel, generate, simulate_file  # noqa: E402

CONFIG = Path(__file__).parents[1] / "config" / "config.yaml"
TARGET_EVENTS_PER_S = 5000  # the project's speed requirement for the simulation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    args = parser.parse_args()
    models = yaml.safe_load(CONFIG.read_text())["simulation"]["models"]
    generate(PhysicsModel.nominal(), CHUNK_EVENTS, seed=0)  # warm-up: imports, tables, caches
    print(f"events per run: {args.events}, one core")
    for name, knobs in models.items():
        model = PhysicsModel.from_config(knobs, name)
        start, cpu = time.perf_counter(), time.process_time()
        generate(model, args.events, seed=1)
        generated, generated_cpu = time.perf_counter() - start, time.process_time() - cpu
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            simulate_file(model, args.events, seed=1, part_index=0, path=Path(tmp) / "bench.root")
            written = time.perf_counter() - start
        # CPU seconds too: on a shared machine wall time also counts other people's work.
        print(f"{name:>10}: generate {args.events / generated:7.0f} events/s wall, "
              f"{args.events / generated_cpu:7.0f} events per CPU second; "
              f"generate + write ROOT {args.events / written:7.0f} events/s wall")
    print(f"target: at least {TARGET_EVENTS_PER_S} events per second on one core")


if __name__ == "__main__":
    main()
