"""Running the workflow from tests and benchmarks: a copy of the checkout, Snakemake from
this interpreter's environment, and the jobs a dry run plans."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Paths of the checkout a workflow run needs; outputs and caches are not copied.
WORKFLOW_FILES = ("Snakefile", "config", "envs", "scripts", "src", "workflow", "pyproject.toml", "requirements.txt")


def copy_checkout(target: Path, names=WORKFLOW_FILES) -> Path:
    """Copy the workflow's files of the checkout into ``target`` (created); returns it."""
    target.mkdir(parents=True)
    for name in names:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


def snakemake(*args: str, cwd: Path = REPO, timeout: float | None = 600) -> subprocess.CompletedProcess:
    """Run Snakemake in ``cwd``; its jobs find `python` and `snakemake` of this environment first."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [str(BIN / "snakemake"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def snakemake_ok(cwd: Path, *args: str, cores: int = 2) -> str:
    """Run Snakemake on ``cores`` cores, fail with the end of its output unless it succeeds;
    returns its output."""
    result = snakemake("--cores", str(cores), *args, cwd=cwd)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def planned_rules(dry_run_output: str) -> set[str]:
    """Rule names of a dry run's job table (empty when there is nothing to do)."""
    table = dry_run_output.split("Job stats:")[-1] if "Job stats:" in dry_run_output else ""
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"total", "job", "count"}


def planned_jobs(dry_run_output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a dry run lists."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", dry_run_output):
        header = re.match(r"(?:local)?rule (\w+):", block)
        if not header:
            continue
        found = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        resources = dict(item.split("=", 1) for item in found.group(1).split(", ")) if found else {}
        jobs.append((header.group(1), resources))
    return jobs


def node_cpus() -> int:
    """CPUs of the smallest node of the running SLURM."""
    out = subprocess.run(["sinfo", "--noheader", "--format=%c"], capture_output=True, text=True, check=True)
    return min(int(n.rstrip("+")) for n in out.stdout.split())
