"""Wall time of the tiny config run locally against the same run through SLURM.

Needs a running SLURM (tests/slurm/start_cluster.sh). Both runs start from an empty
copy of the checkout and get the same CPUs (those of the SLURM node), so the ratio
is the scheduler's overhead: job submission, status polling and one Snakemake start
per job.

    python benchmarks/bench_cluster.py [--config config/tiny.yaml]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WORKFLOW_FILES = ["Snakefile", "config", "envs", "scripts", "src", "workflow", "pyproject.toml", "requirements.txt"]


def copy_checkout(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def node_cpus() -> int:
    out = subprocess.run(["sinfo", "--noheader", "--format=%c"], capture_output=True, text=True, check=True)
    return min(int(n.rstrip("+")) for n in out.stdout.split())


def timed_run(workdir: Path, args: list[str]) -> float:
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    start = time.perf_counter()
    result = subprocess.run([str(BIN / "snakemake"), *args], cwd=workdir, env=env, capture_output=True, text=True)
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
