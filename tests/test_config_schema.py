"""The config schema fills defaults inside every section and names the key at fault."""

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
