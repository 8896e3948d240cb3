"""The one-place contracts: paths, settings from the schemas, final targets, job logs."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from minerva_vertex import paths, settings, targets
from minerva_vertex.config_validation import validate_config

REPO = Path(__file__).resolve().parents[1]


def default_config() -> dict:
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    validate_config(config)  # as the Snakefile does
    return config


def test_patterns_and_files_come_from_the_same_function():
    assert paths.images("r") == "r/images/{sample}/{part}.h5"
    assert paths.images("r").format(sample="sim", part="part000") == paths.images("r", "sim", "part000")
    assert paths.metrics("r", finder="tracking") == "r/metrics/tracking/{sample}.json"
    assert paths.log("r", "score", "{model}", "{sample}") == "r/logs/score/{model}/{sample}.log"
    assert paths.benchmark("r", "bias") == "r/benchmarks/bias.tsv"


def test_all_targets_of_the_default_run():
    config = default_config()
    out = targets.all_targets(config)
    assert len(out) == len(set(out)) and all(p.startswith("results/") for p in out)
    samples, finders = ["simulation", "data_like"], ["tracking", "cnn", "dann", "oracle"]
    assert {paths.metrics("results", f, s) for f in finders for s in samples} <= set(out)
    files = config["samples"]["simulation"]["simulate"]["files"]
    assert files == config["samples"]["data_like"]["simulate"]["files"]
    assert sum("/scores/" in p for p in out) == 3 * 2 * files  # models x samples x files
    assert paths.plot_accuracy_gap("results", "pdf") in out
    assert not any("/vary_" in p or "/variations/" in p for p in out)  # their own target, `variations`
    varied = targets.variation_targets(config)
    assert paths.variations_table("results", "summary") in varied and paths.plot_variations("results", "png", "purity") in varied


def test_settings_fill_nested_defaults_and_name_the_bad_key():
    images = settings.section("images", {"splits": {"train": 0.7, "validation": 0.2}})
    assert images["splits"] == {"train": 0.7, "validation": 0.2, "test": 0.1} and images["compression"] == "lz4"
    with pytest.raises(settings.SettingsError) as error:
        settings.section("tracking", {"max_angle_deg": "wide"})
    assert error.value.key == "tracking.max_angle_deg"
    with pytest.raises(settings.SettingsError, match="'scoring.batchsize'"):
        settings.section("scoring", {"batchsize": 4})


def test_result_part_leaves_out_only_run_only_knobs():
    config = default_config()
    assert "chunk_events" not in settings.result_part(config, "images")
    assert settings.result_part(config, "images")["splits"] == config["images"]["splits"]
    assert set(settings.result_part(config, "tracking")) == set(config["tracking"]) - {"chunk_events"}
    # A script gets its whole section back: the rule's params and the run-only knobs of the config.
    for name in ("images", "tracking", "training", "scoring"):
        assert settings.with_run_only(settings.result_part(config, name), config, name) == config[name]
    assert settings.run_only(config, "scoring") == {"batch_size": config["scoring"]["batch_size"], "threads": 1, "gpu": 0}



def test_images_input_and_tracking_settings_are_filled_once_on_the_rules_way(monkeypatch):
    """The rules build their settings from the validated config's sections as they are;
    direct callers fill a partial section through ``from_section``, to the same values."""
    import copy

    from minerva_vertex import images, rootio, tracking
    from minerva_vertex import workflow_config as wc

    raw = yaml.safe_load((REPO / "config/config.yaml").read_text())
    config = copy.deepcopy(raw)
    validate_config(config)  # as the Snakefile does: it fills every default
    images_params = settings.result_part(config, "images", wc.images_settings(config, "simulation"))
    tracking_params = settings.result_part(config, "tracking")
    from_section = (
        images.ImagesConfig.from_section(raw.get("images")),
        rootio.InputSpec.from_section(raw.get("input")),
        tracking.TrackingParams.from_section(raw.get("tracking")),
    )

    def no_second_fill(*args):
        raise AssertionError("a filled section was filled again")

    monkeypatch.setattr(settings, "section", no_second_fill)
    from_rules = (
        images.ImagesConfig.from_filled(settings.with_run_only(images_params, config, "images")),
        rootio.InputSpec.from_filled(config["input"]),
        tracking.TrackingParams.from_filled(settings.with_run_only(tracking_params, config, "tracking")),
    )
    assert from_rules == from_section
    # Built from filled values, settings never fall back on a default of their own.
    with pytest.raises(settings.SettingsError, match="'images.time_channel': missing"):
        images.ImagesConfig.from_filled({"compression": "lz4"})
    with pytest.raises(settings.SettingsError, match="'tracking.min_hit_energy_mev': missing"):
        tracking.TrackingParams.from_filled({"chunk_events": 64})
    with pytest.raises(settings.SettingsError, match="'input.tree': missing"):
        rootio.InputSpec.from_filled({})

def test_job_log_keeps_stderr_and_restores_it(tmp_path):
    script = (
        "import logging, sys, warnings\n"
        "from minerva_vertex.job_log import job_log\n"
        "with job_log(sys.argv[1]):\n"
        "    logging.getLogger('x').info('info line')\n"
        "    warnings.warn('a warning')\n"
        "    print('progress', file=sys.stderr)\n"
        "print('after', file=sys.stderr)\n"
    )
    log = tmp_path / "job.log"
    run = subprocess.run([sys.executable, "-c", script, str(log)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stderr.strip() == "after"
    text = log.read_text()
    assert "info line" in text and "a warning" in text and "progress" in text


ATTEMPT = (
    "import logging, os, signal, sys\n"
    "from minerva_vertex import paths\n"
    "from minerva_vertex.job_log import job_log\n"
    "with job_log(sys.argv[1], attempts_path=paths.attempts_log(sys.argv[1])):\n"
    "    logging.getLogger('minerva_vertex.x').info('attempt %s at work', sys.argv[2])\n"
    "    print('progress of attempt', sys.argv[2], file=sys.stderr)\n"
    "    if sys.argv[2] == '1':\n"
    "        os.kill(os.getpid(), signal.SIGKILL)  # a job killed at its time limit\n"
)


def test_the_log_of_every_attempt_is_kept_though_snakemake_deletes_the_job_log(tmp_path):
    log = tmp_path / "logs" / "train" / "cnn.log"
    killed = subprocess.run([sys.executable, "-c", ATTEMPT, str(log), "1"], capture_output=True, text=True)
    assert killed.returncode == -9
    log.unlink()  # as Snakemake does before every attempt of a job
    rerun = subprocess.run([sys.executable, "-c", ATTEMPT, str(log), "2"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    attempts = Path(paths.attempts_log(str(log)))
    assert attempts.parent == log.parent and attempts.name == "cnn.attempts.log"
    text = attempts.read_text()
    assert text.count("--- attempt started") == 2
    assert text.index("attempt 1 at work") < text.index("progress of attempt 1") < text.index("attempt 2 at work")
    assert "attempt 1" not in log.read_text() and "attempt 2 at work" in log.read_text()
