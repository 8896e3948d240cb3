"""The cluster profiles: both parse and plan the tiny run; the SLURM one runs it on a real SLURM.

The end-to-end test needs a running SLURM (tests/slurm/start_cluster.sh) and
MINERVA_SLURM_TEST=1; CI sets both. It runs the tiny config through the slurm
profile in a copy of the repository, then checks the outputs, that every job
Snakemake submitted is in SLURM's own records as completed, and that the local
rules stayed local. It takes minutes (one Snakemake start per cluster job).
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from workflow_run import REPO, copy_checkout, node_cpus, planned_jobs, snakemake

PROFILES = REPO / "workflow" / "profiles"
TINY = "config/tiny.yaml"


@functools.cache
def dry_run(profile: str, *config: str) -> list[tuple[str, dict[str, str]]]:
    result = snakemake("-n", "--workflow-profile", str(PROFILES / profile), *config)
    assert result.returncode == 0, result.stdout + result.stderr
    return planned_jobs(result.stdout + result.stderr)


def local_rules() -> set[str]:
    """Rules the rule files mark as running beside Snakemake rather than on the cluster."""
    names = {"all"}
    for path in (REPO / "workflow" / "rules").glob("*.smk"):
        text = path.read_text()
        for block in re.findall(r"^localrules:\n((?:[ \t]+\w+,?[ \t]*\n)+)", text, re.MULTILINE):
            names.update(re.findall(r"\w+", block))
        for line in re.findall(r"^localrules:[ \t]*(\w.*)$", text, re.MULTILINE):
            names.update(re.findall(r"\w+", line))
        for name, body in re.findall(r"^rule (\w+):\n((?:[ \t]+.*\n|[ \t]*\n)*)", text, re.MULTILINE):
            if re.search(r"^[ \t]+localrule:[ \t]*True", body, re.MULTILINE):
                names.add(name)
    return names


@pytest.mark.parametrize("profile, executor", [("slurm", "slurm"), ("htcondor", "htcondor"), ("default", None)])
def test_profile_names_its_executor(profile, executor):
    settings = yaml.safe_load((PROFILES / profile / "config.yaml").read_text())
    assert settings.get("executor") == executor
    if executor:
        assert settings["default-resources"]["mem_mb"] > 0
        assert settings["default-resources"]["runtime"] > 0


@pytest.mark.parametrize("profile", ["slurm", "htcondor"])
def test_tiny_run_plans_with_profile(profile):
    """Snakemake accepts every key of the profile (plugin options included) and plans the run."""
    jobs = dry_run(profile, "--configfile", TINY)
    assert "all" in {rule for rule, _ in jobs}
    for rule, resources in jobs:
        assert int(resources["mem_mb"]) > 0, rule
        assert int(resources["runtime"]) > 0, rule


def test_htcondor_requests_match_rule_resources():
    """HTCondor reads neither mem_mb nor gpu: the profile restates them as it expects."""
    local = local_rules()
    for rule, resources in dry_run("htcondor"):
        if rule in local:
            continue
        stale = f"rule {rule}: update its set-resources in workflow/profiles/htcondor/config.yaml"
        assert resources.get("htcondor_request_mem_mb") == resources["mem_mb"], stale
        assert int(resources.get("request_gpus", 0)) == int(resources.get("gpu", 0)), stale


# --- against a real SLURM --------------------------------------------------------------


def slurm_config() -> dict[str, str]:
    out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^(\w+)\s*=\s*(.*?)\s*$", out, re.MULTILINE))


def scheduler_records(workdir: Path) -> list[tuple[str, str]]:
    """(job id, state) of every SLURM job that ran in ``workdir``, from SLURM's own records:
    its accounting database where one runs, otherwise its job-completion log."""
    config = slurm_config()
    if config.get("AccountingStorageType", "accounting_storage/none") != "accounting_storage/none":
        out = subprocess.run(
            ["sacct", "-X", "--parsable2", "--noheader", "--format=JobIDRaw,State,WorkDir", "--starttime=now-1days"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [line.split("|") for line in out.splitlines()]
        return [(job, state) for job, state, where in rows if Path(where) == workdir]
    assert config.get("JobCompType") == "jobcomp/filetxt", "no accounting and no job-completion log to check"
    records = []
    for line in Path(config["JobCompLoc"]).read_text().splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if Path(fields.get("WorkDir", "/")) == workdir:
            records.append((fields["JobId"], fields["JobState"]))
    return records


@pytest.fixture
def checkout_copy(tmp_path):
    return copy_checkout(tmp_path / "repo")


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MINERVA_SLURM_TEST") != "1", reason="needs a running SLURM; set MINERVA_SLURM_TEST=1")
def test_tiny_run_through_slurm(checkout_copy):
    result = snakemake(
        "--workflow-profile",
        "workflow/profiles/slurm",
        "--configfile",
        TINY,
        # The test cluster has no accounting database: ask squeue for job states.
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "5",
        "--slurm-keep-successful-logs",
        # Rules asking for more CPUs than the node has would wait forever.
        "--max-threads",
        str(node_cpus()),
        cwd=checkout_copy,
        timeout=3600,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-10000:]

    # Every planned output is there: a second dry run has nothing left to do.
    again = snakemake("-n", "--configfile", TINY, cwd=checkout_copy)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, again.stdout + again.stderr
    simulated = sorted((checkout_copy / "results" / "simulated").glob("*/part*.root"))
    assert len(simulated) == 4 and all(path.stat().st_size > 0 for path in simulated)

    # Jobs Snakemake sent to the cluster are logged as "rule", those it ran itself as "localrule".
    submitted = Counter(re.findall(r"^rule (\w+):$", log, re.MULTILINE))
    ran_locally = set(re.findall(r"^localrule (\w+):$", log, re.MULTILINE))
    assert submitted["simulate"] == 4, submitted
    assert not set(submitted) & local_rules(), "a local rule went to the cluster"
    assert ran_locally <= local_rules()

    # Each submitted job went through SLURM: SLURM's records hold one completed job per
    # submission, and the executor's per-rule logs name the same jobs.
    records = scheduler_records(checkout_copy)
    assert len(records) == sum(submitted.values()), records
    assert {state for _, state in records} == {"COMPLETED"}
    logs = checkout_copy / ".snakemake" / "slurm_logs"
    logged = Counter(path.relative_to(logs).parts[0].removeprefix("rule_") for path in logs.rglob("*.log"))
    assert logged == submitted
    assert {path.stem for path in logs.rglob("*.log")} == {job for job, _ in records}
