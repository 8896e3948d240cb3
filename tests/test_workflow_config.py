"""Config checks: bad values stop the run before any job, naming the key."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from minerva_vertex import workflow_config as wc
from minerva_vertex.workflow_config import ConfigError

REPO = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


def config_with(**samples):
    config = copy.deepcopy(DEFAULT)
    config["samples"] = samples
    return config


def test_default_config_passes():
    wc.check_config(copy.deepcopy(DEFAULT))


def test_unknown_model_names_the_key():
    config = config_with(sim={"simulate": {"model": "nominall", "events": 10, "files": 1, "seed": 1}})
    with pytest.raises(ConfigError) as err:
        wc.check_config(config)
    assert err.value.key == "samples.sim.simulate.model"
    known = ", ".join(sorted(DEFAULT["simulation"]["models"]))
    assert "nominall" in str(err.value) and f"simulation.models has: {known}" in str(err.value)


def test_batch_normalisation_with_weight_averaging_names_the_key():
    config = copy.deepcopy(DEFAULT)
    config["models"]["cnn"].update(normalization="batch", weight_averaging="ema")
    with pytest.raises(ConfigError, match="running statistics") as err:
        wc.check_config(config)
    assert err.value.key == "models.cnn.weight_averaging"
    config["models"]["cnn"]["weight_averaging"] = "none"
    wc.check_config(config)


def test_missing_seed_names_the_key():
    config = config_with(sim={"simulate": {"model": "nominal", "events": 10, "files": 1}})
    with pytest.raises(ConfigError) as err:
        wc.check_config(config)
    assert err.value.key == "samples.sim.simulate.seed"


@pytest.mark.parametrize("events,files,key", [(-5, 1, "events"), (0, 1, "events"), (3, 4, "files")])
def test_bad_event_and_file_counts(events, files, key):
    config = config_with(sim={"simulate": {"model": "nominal", "events": events, "files": files, "seed": 1}})
    with pytest.raises(ConfigError) as err:
        wc.check_config(config)
    assert err.value.key == f"samples.sim.simulate.{key}"


def test_unknown_knob_names_the_key():
    config = copy.deepcopy(DEFAULT)
    config["simulation"]["models"]["data_like"]["noise_rate"] = 3
    with pytest.raises(ConfigError) as err:
        wc.check_config(config)
    assert err.value.key == "simulation.models.data_like.noise_rate"


def test_simulation_job_splits_events():
    config = config_with(sim={"simulate": {"model": "data_like", "events": 10, "files": 3, "seed": 5}})
    jobs = [wc.simulation_job(config, "sim", part) for part in wc.sample_parts(config, "sim")]
    assert [j["events"] for j in jobs] == [4, 3, 3]
    assert [j["part_index"] for j in jobs] == [0, 1, 2]
    assert {j["seed"] for j in jobs} == {5} and jobs[0]["model"] == DEFAULT["simulation"]["models"]["data_like"]
    with pytest.raises(ConfigError, match="samples.sim.simulate.files"):
        wc.simulation_job(config, "sim", "part003")


def dry_run(tmp_path, overrides: dict):
    overrides = {"results": str(tmp_path / "results"), **overrides}
    configfile = tmp_path / "override.yaml"
    configfile.write_text(yaml.safe_dump(overrides))
    snakemake = Path(sys.executable).parent / "snakemake"
    return subprocess.run([str(snakemake), "-n", "--configfile", str(configfile)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("sample,key", [
    ({"simulation": {"simulate": {"events": -5}}}, "events"),  # merged into the default sample
    ({"extra": {"simulate": {"model": "nominal", "events": 10, "files": 1}}}, "seed"),
])
def test_schema_stops_snakemake_before_any_job(tmp_path, sample, key):
    result = dry_run(tmp_path, {"samples": sample})
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert key in output and "simulate" in output
    assert not (tmp_path / "results").exists()


# --- what a user sees on the console -----------------------------------------------------
@pytest.mark.parametrize("overrides, key, closest", [
    ({"resluts": "x"}, "resluts", "results"),
    ({"models": {"cnn": {"kind": "cnn", "train_sample": "simulation", "lerning_rate": 0.1}}},
     "models.cnn.lerning_rate", "learning_rate"),
    ({"training": {"threads": "four"}}, "training.threads", None),
])
def test_a_config_mistake_stops_snakemake_with_one_short_line(tmp_path, overrides, key, closest):
    result = dry_run(tmp_path, overrides)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert len(lines) <= 5, "\n".join(lines)  # not the schema and the config dumped
    (error,) = [line for line in lines if line.startswith("Error:")]
    assert f"config key '{key}'" in error
    assert (f"did you mean '{closest}'?" in error) if closest else ("found 'four' (string); expected integer" in error)
    assert not (tmp_path / "results").exists()


def test_a_file_listed_twice_is_read_once_with_a_warning_on_the_console(tmp_path):
    from hit_files import make_events, write_hit_file

    path = str(write_hit_file(tmp_path / "run1.root", make_events(3)))
    result = dry_run(tmp_path, {"samples": {"mine": {"files": [path, str(tmp_path / "run*.root")]}}, "models": {}})
    assert result.returncode == 0, result.stderr[-2000:]
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert f"'samples.mine.files': file '{path}' is listed 2 times; its events are read once" in warning
    assert wc.sample_parts(config_with(mine={"files": [path, path]}), "mine") == ["run1"]
