"""Changing a plot's params reruns that plot and nothing upstream (end to end, small)."""

import json
import shutil

import pytest
import yaml

from evaluation_data import WORKFLOW_SAMPLES, workflow_with_upstream
from shared_files import needs_fixtures
from workflow_run import planned_rules, snakemake_ok


@pytest.mark.slow
@needs_fixtures
def test_changing_a_plot_param_reruns_only_that_plot(tmp_path):
    work = workflow_with_upstream(tmp_path)
    targets = [
        "results/plots/accuracy_gap.png",
        "results/summary.md",
        "results/plots/confusion/cnn/sim.png",
        "results/plots/confusion/tracking/data.png",
    ]
    snakemake_ok(work, *targets)
    summary = (work / "results" / "summary.md").read_text()
    assert "| dann | dann | data |" in summary
    bias = json.loads((work / "results" / "metrics" / "bias.json").read_text())
    assert bias["finders"]["cnn"]["accuracy"]["data"] is None  # data has no truth: not an error
    assert "auc" in bias["finders"]["dann"]["domain_auc"]
    assert planned_rules(snakemake_ok(work, "-n", *targets)) == set()  # everything is up to date

    rule_file = work / "workflow" / "rules" / "plots.smk"
    text = rule_file.read_text()
    assert 'cmap="viridis"' in text
    rule_file.write_text(text.replace('cmap="viridis"', 'cmap="magma"', 1))
    assert planned_rules(snakemake_ok(work, "-n", *targets)) == {"plot_confusion"}


@pytest.mark.slow
@needs_fixtures
def test_resources_and_memory_knobs_rerun_nothing(tmp_path):
    work = workflow_with_upstream(tmp_path)
    targets = ["results/summary.md", "results/plots/confusion/cnn/sim.png"]
    snakemake_ok(work, *targets)
    config_file = work / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    config.update(
        training={"mem_mb": 9000, "threads": 1, "runtime": 7, "gpu": 0, "progress": False},
        scoring={"batch_size": 7, "threads": 2, "gpu": 0},
        images={"chunk_events": 128},
        tracking={"chunk_events": 64},
    )
    config_file.write_text(yaml.safe_dump(config))
    assert planned_rules(snakemake_ok(work, "-n", *targets)) == set()
    # A knob that can change a result does rerun its rule (and what follows).
    config["scoring"]["device"] = "cpu"
    config_file.write_text(yaml.safe_dump(config))
    assert {"score", "metrics", "summary_table"} <= planned_rules(snakemake_ok(work, "-n", *targets))


@pytest.mark.slow
@needs_fixtures
def test_rule_train_trains_the_validated_settings_and_records_what_ran(tmp_path):
    """The rule's way in (params filled by the Snakefile's validation, run-only knobs from
    the config) trains the same weights as the package called directly with the entry."""
    import torch

    from minerva_vertex import devices, training

    work = workflow_with_upstream(tmp_path)
    shutil.rmtree(work / "results" / "models" / "cnn")
    config_file = work / "config" / "config.yaml"
    config = yaml.safe_load(config_file.read_text())
    entry = {"kind": "cnn", "train_sample": "sim", "epochs": 1, "batch_size": 2, "seed": 7}
    config["models"]["cnn"] = entry
    config["training"] = {"threads": 1, "progress": False, "checkpoint_minutes": 0}
    config_file.write_text(yaml.safe_dump(config))
    snakemake_ok(work, "results/models/cnn/weights.pt")

    recorded = yaml.safe_load((work / "results" / "models" / "cnn" / "config.yaml").read_text())
    cpu = torch.device("cpu")
    assert recorded["run"]["device"] == "cpu" and recorded["run"]["precision"] == devices.resolve_precision("auto", cpu)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        direct = training.train(
            training.TrainSettings.from_dict(entry, "cnn"), [work / "results" / "images" / "sim" / f"{WORKFLOW_SAMPLES['sim']}.h5"],
            checkpoint_dir=tmp_path / "direct", options=training.RunOptions.from_section(config["training"]),
        )
    finally:
        torch.set_num_threads(threads)
    from_rule = training.load_model(work / "results" / "models" / "cnn" / "weights.pt").state_dict()
    assert all(torch.equal(from_rule[key], value) for key, value in direct.model.state_dict().items())
