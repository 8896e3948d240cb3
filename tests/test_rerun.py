"""Changing a plot's params reruns that plot and nothing upstream (end to end, small)."""

import json

import pytest
import yaml

from evaluation_data import workflow_with_upstream
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
        scoring={"batch_size": 7, "gpu": 0},
        images={"chunk_events": 128},
        tracking={"chunk_events": 64},
    )
    config_file.write_text(yaml.safe_dump(config))
    assert planned_rules(snakemake_ok(work, "-n", *targets)) == set()
    # A knob that can change a result does rerun its rule (and what follows).
    config["scoring"]["device"] = "cpu"
    config_file.write_text(yaml.safe_dump(config))
    assert {"score", "metrics", "summary_table"} <= planned_rules(snakemake_ok(work, "-n", *targets))
