"""The config schema fills defaults inside every section and names the key at fault, in one
short line (minerva_vertex.config_validation, what the Snakefile runs)."""

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

REPO = Path(__file__).resolve().parents[1]
SCHEMA = str(REPO / "workflow/schemas/config.schema.yaml")
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


def test_default_config_is_valid():
    validate(copy.deepcopy(DEFAULT), SCHEMA)


PRESETS = sorted(p for p in (REPO / "config").rglob("*.yaml") if p.name != "config.yaml")


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: str(p.relative_to(REPO / "config")))
def test_every_preset_laid_over_the_default_is_valid(preset):
    from snakemake.utils import update_config

    from minerva_vertex import workflow_config

    config = copy.deepcopy(DEFAULT)
    update_config(config, yaml.safe_load(preset.read_text()))
    validate(config, SCHEMA)
    workflow_config.check_config(config)


def test_defaults_are_filled_inside_referenced_sections():
    config = {"samples": DEFAULT["samples"], "images": {}, "input": {}}
    validate(config, SCHEMA)
    assert config["results"] == "results"
    assert config["images"]["compression"] == "lz4"
    assert config["images"]["splits"] == {"train": 0.8, "validation": 0.1, "test": 0.1}
    assert config["input"]["tree"] == "minerva"
    assert "tracking" in config and config["tracking"], "a left-out section gets its defaults"


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda c: c["samples"]["simulation"]["simulate"].update(events=-5), "events"),
        (lambda c: c["images"].update(compression="brotli"), "compression"),
        (lambda c: c.update(unknown_section={}), "unknown_section"),
        (lambda c: c["samples"]["simulation"]["simulate"].pop("seed"), "seed"),
    ],
)
def test_invalid_values_name_the_key(change, key):
    config = copy.deepcopy(DEFAULT)
    change(config)
    with pytest.raises(WorkflowError) as error:
        validate(config, SCHEMA)
    assert key in str(error.value) + str(error.value.__cause__ or "") + repr(error.value.args)


CONFIGS = [DEFAULT, {"samples": DEFAULT["samples"], "images": {}, "input": {}}] + [
    yaml.safe_load(preset.read_text()) for preset in PRESETS
]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_workflow_fills_the_defaults_exactly_as_snakemake_validate(config):
    from snakemake.utils import update_config

    from minerva_vertex.config_validation import validate_config

    laid_over = copy.deepcopy(DEFAULT)
    update_config(laid_over, copy.deepcopy(config))
    ours, snakemakes = copy.deepcopy(laid_over), copy.deepcopy(laid_over)
    validate_config(ours)
    validate(snakemakes, SCHEMA)
    assert ours == snakemakes and ours != laid_over


@pytest.mark.parametrize(
    "change, key, message",
    [
        (lambda c: c.update(resluts="x"), "resluts", "unknown key; did you mean 'results'?"),
        (lambda c: c.update(zzz=1), "zzz", "unknown key; allowed here: results, samples, simulation"),
        (lambda c: c["training"].update(epochs=3), "training.epochs", "unknown key; allowed here: device"),
        (lambda c: c["models"]["cnn"].update(lerning_rate=0.1), "models.cnn.lerning_rate", "did you mean 'learning_rate'?"),
        (lambda c: c["models"]["cnn"].update(learning_rate="fast"), "models.cnn.learning_rate", "found 'fast' (string); expected number"),
        (lambda c: c.update(images=5), "images", "found 5 (integer); expected a mapping"),
        (lambda c: c["images"].update(compression="lz5"), "images.compression", "expected one of lz4, zstd, gzip, none; did you mean 'lz4'?"),
        (lambda c: c["samples"]["simulation"]["simulate"].update(events=-5), "samples.simulation.simulate.events", "found -5 (integer); expected a value >= 1"),
        (lambda c: c["samples"]["simulation"]["simulate"].pop("seed"), "samples.simulation.simulate.seed", "missing; it is required"),
        (lambda c: c["samples"].update(x={"has_truth": True}), "samples.x", "has keys has_truth; expected exactly one of simulate or files"),
        (lambda c: c["samples"].update({"1x": {"files": ["a.root"]}}), "samples.1x", "not a valid name"),
        (lambda c: c["samples"].update(x={"files": []}), "samples.x.files", "found [] (list); expected at least 1 item(s)"),
    ],
)
def test_a_schema_error_is_one_line_with_the_key_what_was_found_and_what_is_allowed(change, key, message):
    from minerva_vertex.config_error import ConfigError
    from minerva_vertex.config_validation import validate_config

    config = copy.deepcopy(DEFAULT)
    config.setdefault("models", {}).setdefault("cnn", {"kind": "cnn", "train_sample": "simulation"})
    change(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    assert error.value.key == key and message in str(error.value)
    assert "\n" not in str(error.value) and len(str(error.value)) < 300
