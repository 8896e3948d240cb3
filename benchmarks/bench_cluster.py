"""Wall time of the tiny config run locally against the same run through SLURM.

Needs a running SLURM (tests/slurm/start_cluster.sh). Both runs start from an empty
copy of the checkout and get the same CPUs (those of the SLURM node), so the ratio
is the scheduler's overhead: job submission, status polling and one Snakemake start
per job.

    python benchmarks/bench_cluster.py [--config config/tiny.yaml]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

# The workflow helpers the tests use: a copy of the checkout, Snakemake from this environment.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from workflow_run import copy_checkout, node_cpus, snakemake  # noqa: E402


def timed_run(workdir: Path, args: list[str]) -> float:
    start = time.perf_counter()
    result = snakemake(*args, cwd=workdir, timeout=None)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed in {workdir}:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config/tiny.yaml", help="config file laid over the default")
    args = parser.parse_args()
    cpus = node_cpus()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        local = timed_run(
            copy_checkout(Path(tmp) / "local"), ["--configfile", args.config, "--cores", str(cpus)]
        )
        slurm = timed_run(
            copy_checkout(Path(tmp) / "slurm"),
            [
                "--workflow-profile",
                "workflow/profiles/slurm",
                "--configfile",
                args.config,
                "--max-threads",
                str(cpus),
                # As in tests/test_cluster_profiles.py: a test cluster without accounting.
                "--slurm-status-command",
                "squeue",
                "--slurm-init-seconds-before-status-checks",
                "5",
            ],
        )
    print(f"config {args.config}, {cpus} CPUs")
    print(f"local  {local:8.1f} s")
    print(f"slurm  {slurm:8.1f} s")
    print(f"slurm / local = {slurm / local:.2f}")


if __name__ == "__main__":
    main()
