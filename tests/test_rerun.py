"""Changing a plot's params reruns that plot and nothing upstream (end to end, small)."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evaluation_data import write_images, write_model, write_tracking

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
SAMPLES = {"sim": "root6_vectors_sim", "data": "root6_vectors_data"}


def make_workflow(tmp_path: Path) -> Path:
    """A copy of the workflow whose upstream outputs (images, models, tracking) exist."""
    work = tmp_path / "wf"
    work.mkdir()
    for name in ("Snakefile", "workflow", "scripts", "envs", "src"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name, **({"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info")} if source.is_dir() else {}))
    results = work / "results"
    config = {
        "results": "results",
        "samples": {sample: {"files": [str(FIXTURES / f"{part}.root")]} for sample, part in SAMPLES.items()},
        "models": {
            "cnn": {"kind": "cnn", "train_sample": "sim"},
            "dann": {"kind": "dann", "train_sample": "sim", "target_sample": "data"},
        },
        "comparisons": {"bias": {"source": "sim", "target": "data"}, "sets": {"lead": {"finders": ["cnn", "dann"], "selections": ["target4_Pb"]}}},
    }
    (work / "config").mkdir()
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    for i, (sample, part) in enumerate(SAMPLES.items()):
        image = results / "images" / sample / f"{part}.h5"
        write_images(image, 12, seed=i, has_truth=sample == "sim", sample=sample, id_offset=100 * i)
        (results / "images" / sample / f"{part}.summary.json").write_text("{}")
        (results / "images" / sample / "summary.json").write_text("{}")
        write_tracking(results / "tracking" / sample / f"{part}.h5", [image])
        write_tracking(results / "tracking" / f"{sample}.h5", [image])
        (results / "tracking" / f"{sample}.summary.json").write_text("{}")
    for model in ("cnn", "dann"):
        write_model(results / "models" / model, model, train_sample="sim")
        for name in ("metrics.csv", "training_curve.png"):
            (results / "models" / model / name).write_text("")
    return work


def snakemake(work: Path, *args: str) -> str:
    result = subprocess.run([SNAKEMAKE, "--cores", "2", *args], cwd=work, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def planned_jobs(output: str) -> set[str]:
    """Rule names of the dry run's job table."""
    table = output.split("Job stats:")[-1] if "Job stats:" in output else ""
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"total", "job", "count"}


@pytest.mark.slow
def test_changing_a_plot_param_reruns_only_that_plot(tmp_path):
    work = make_workflow(tmp_path)
    targets = [
        "results/plots/accuracy_gap.png",
        "results/summary.md",
        "results/plots/confusion/cnn/sim.png",
        "results/plots/confusion/tracking/data.png",
    ]
    snakemake(work, *targets)
    summary = (work / "results" / "summary.md").read_text()
    assert "| dann | dann | data |" in summary
    bias = json.loads((work / "results" / "metrics" / "bias.json").read_text())
    assert bias["finders"]["cnn"]["accuracy"]["data"] is None  # data has no truth: not an error
    assert "auc" in bias["finders"]["dann"]["domain_auc"]
    assert planned_jobs(snakemake(work, "-n", *targets)) == set()  # everything is up to date

    rule_file = work / "workflow" / "rules" / "plots.smk"
    text = rule_file.read_text()
    assert 'cmap="viridis"' in text
    rule_file.write_text(text.replace('cmap="viridis"', 'cmap="magma"', 1))
    assert planned_jobs(snakemake(work, "-n", *targets)) == {"plot_confusion"}


@pytest.mark.slow
def test_resources_and_memory_knobs_rerun_nothing(tmp_path):
    work = make_workflow(tmp_path)
    targets = ["results/summary.md", "results/plots/confusion/cnn/sim.png"]
    snakemake(work, *targets)
    config_file = work / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config.update(
        training={"mem_mb": 9000, "threads": 1, "runtime": 7, "gpu": 0, "progress": False},
        scoring={"batch_size": 7, "gpu": 0},
        images={"chunk_events": 128},
        tracking={"chunk_events": 64},
    )
    config_file.write_text(yaml.safe_dump(config))
    assert planned_jobs(snakemake(work, "-n", *targets)) == set()
    # A knob that can change a result does rerun its rule (and what follows).
    config["scoring"]["device"] = "cpu"
    config_file.write_text(yaml.safe_dump(config))
    assert {"score", "metrics", "summary_table"} <= planned_jobs(snakemake(work, "-n", *targets))


@pytest.mark.slow
def test_rule_train_trains_the_validated_settings_and_records_what_ran(tmp_path):
    """The rule's way in (params filled by the Snakefile's validation, run-only knobs from
    the config) trains the same weights as the package called directly with the entry."""
    import torch

    from minerva_vertex import devices, training

    work = make_workflow(tmp_path)
    shutil.rmtree(work / "results" / "models" / "cnn")
    config_file = work / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    entry = {"kind": "cnn", "train_sample": "sim", "epochs": 1, "batch_size": 2, "seed": 7}
    config["models"]["cnn"] = entry
    config["training"] = {"threads": 1, "progress": False, "checkpoint_minutes": 0}
    config_file.write_text(yaml.safe_dump(config))
    snakemake(work, "results/models/cnn/weights.pt")

    recorded = yaml.safe_load((work / "results" / "models" / "cnn" / "config.yaml").read_text())
    cpu = torch.device("cpu")
    assert recorded["run"]["device"] == "cpu" and recorded["run"]["precision"] == devices.resolve_precision("auto", cpu)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        direct = training.train(
            training.TrainSettings.from_dict(entry, "cnn"), [work / "results" / "images" / "sim" / f"{SAMPLES['sim']}.h5"],
            checkpoint_dir=tmp_path / "direct", options=training.RunOptions.from_section(config["training"]),
        )
    finally:
        torch.set_num_threads(threads)
    from_rule = training.load_model(work / "results" / "models" / "cnn" / "weights.pt").state_dict()
    assert all(torch.equal(from_rule[key], value) for key, value in direct.model.state_dict().items())
