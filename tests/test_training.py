"""Training: outputs, determinism, label isolation, resume after a kill, devices, config."""

import copy
import errno
import os
import subprocess
import sys
import textwrap
from dataclasses import MISSING, asdict, fields
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from image_fixtures import write_sample, write_source_and_target
from minerva_vertex import datasets, devices, model_kinds, models, safe_write, training, workflow_config
from minerva_vertex import settings as settings_module
from minerva_vertex.settings import SettingsError
from minerva_vertex.plots.training_curves import plot_training_curves
from minerva_vertex.image_contract import DuplicateEventError
from minerva_vertex.workflow_config import ConfigError

REPO = Path(__file__).resolve().parents[1]
FAST = training.RunOptions.from_section({"progress": False})


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return write_source_and_target(tmp_path_factory.mktemp("samples"))


def settings(kind="cnn", **overrides):
    values = dict(kind=kind, train_sample="source", epochs=2, batch_size=8, seed=3)
    if model_kinds.takes_target(kind):
        values["target_sample"] = "target"
    values.update(overrides)
    return training.TrainSettings.from_dict(values)


def model_files(directory, checkpoint_dir):
    """A model's outputs under ``directory``, named as rule train names them."""
    return training.ModelFiles(directory / "weights.pt", directory / "config.yaml", directory / "metrics.csv", checkpoint_dir)


def same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def assert_shows_the_curves(figure, metrics):
    """A CNN's curves: loss and accuracy per epoch (counted from 1), the selected epoch marked."""
    assert len(figure.axes) == 2 and figure.get_suptitle() == "cnn"  # no domain panel for a CNN
    loss, accuracy = figure.axes
    epochs = metrics["epoch"] + 1
    selected = int(metrics.loc[metrics["selected"], "epoch"].iloc[0]) + 1
    for ax, columns in ((loss, ("train_label_loss", "val_label_loss")), (accuracy, ("train_accuracy", "val_accuracy"))):
        curves = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
        assert list(curves) == ["train (source)", "validation (source)"]
        for line, column in zip(curves.values(), columns):
            np.testing.assert_array_equal(line.get_xdata(), epochs)
            np.testing.assert_allclose(line.get_ydata(), metrics[column])
        marks = [line.get_xdata() for line in ax.get_lines() if line.get_label().startswith("_")]
        assert [list(x) for x in marks] == [[selected, selected]]  # a vertical line at the selected epoch
    assert accuracy.get_ylim() == (0, 1.02)


def test_outputs_and_determinism(samples, tmp_path):
    source, _ = samples
    out = tmp_path / "models" / "cnn"
    result = training.train_to_files(
        "cnn",
        settings(),
        FAST,
        source_files=source,
        files=model_files(out, tmp_path / "ck1"),
    )
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.columns) == list(training.METRIC_COLUMNS) and len(metrics) == 2
    assert metrics["selected"].sum() == 1
    assert metrics.loc[metrics["selected"], "val_label_loss"].iloc[0] == metrics["val_label_loss"].min()
    assert (metrics["train_events_per_s"] > 0).all() and metrics["lambda"].isna().all()
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert recorded["settings"]["seed"] == 3
    # What ran, not what was asked for: FAST asks for device and precision 'auto'.
    cpu = torch.device("cpu")
    assert (FAST.device, FAST.precision) == ("auto", "auto")
    expected = {"device": devices.choose_device("auto").type, "precision": devices.resolve_precision("auto", cpu)}
    assert {key: recorded["run"][key] for key in expected} == expected and "device_used" not in recorded["run"]
    figure = plot_training_curves(metrics, out / "training_curve.png", title="cnn", width_in=12.0)
    assert (out / "training_curve.png").stat().st_size > 10_000
    assert_shows_the_curves(figure, metrics)
    loaded = training.load_model(out / "weights.pt")  # weights_only=True inside
    assert same_weights(loaded, result.model)

    again = training.train(settings(), source, checkpoint_dir=tmp_path / "ck2", options=FAST)
    assert same_weights(again.model, result.model)
    other_seed = training.train(settings(seed=4, epochs=1), source, checkpoint_dir=tmp_path / "ck3", options=FAST)
    assert not same_weights(other_seed.model, result.model)


def test_each_image_file_is_opened_and_checked_once_per_split_before_training(samples, tmp_path, monkeypatch):
    source, _ = samples
    checked = []
    original = datasets.check_file
    monkeypatch.setattr(datasets, "check_file", lambda h5, path, *args: checked.append(path) or original(h5, path, *args))
    training.train(settings(epochs=1), source, checkpoint_dir=tmp_path, options=FAST)
    assert sorted(checked) == sorted(str(path) for path in source for _ in ("train", "validation"))


def test_the_input_transform_is_trained_saved_and_loaded_with_the_weights(samples, tmp_path):
    source, _ = samples
    result = training.train(settings(epochs=1, input_transform="log1p"), source, checkpoint_dir=tmp_path / "ck", options=FAST)
    assert result.model.extractor.input_transform == "log1p"
    training.save_weights(result.model, settings(epochs=1, input_transform="log1p"), tmp_path / "weights.pt", best_epoch=0)
    loaded = training.load_model(tmp_path / "weights.pt")
    assert loaded.extractor.input_transform == "log1p" and same_weights(loaded, result.model)
    plain = training.train(settings(epochs=1), source, checkpoint_dir=tmp_path / "ck2", options=FAST)
    assert not same_weights(plain.model, result.model)  # the same seed learns otherwise from compressed pixels


def test_a_dann_started_from_a_cnn_takes_its_weights_and_a_fresh_domain_classifier(samples, tmp_path):
    source, target = samples
    cnn_settings = settings(epochs=1, input_transform="sqrt")
    cnn = training.train(cnn_settings, source, checkpoint_dir=tmp_path / "ck", options=FAST).model
    training.save_weights(cnn, cnn_settings, tmp_path / "cnn.pt", best_epoch=0)
    dann_settings = settings("dann", epochs=1, input_transform="sqrt", init_from="cnn")
    state = training.initial_state(tmp_path / "cnn.pt", dann_settings)
    torch.manual_seed(0)
    dann = models.build_model("dann", input_transform="sqrt")
    fresh = {k: v.clone() for k, v in dann.domain_classifier.state_dict().items()}
    training.start_from(dann, state, "cnn")
    assert all(torch.equal(dann.state_dict()[k], v) for k, v in cnn.state_dict().items())
    assert all(torch.equal(dann.domain_classifier.state_dict()[k], v) for k, v in fresh.items())
    # Training starts where the CNN ended (a vanishing rate keeps it there), not at random weights.
    still = dict(epochs=1, input_transform="sqrt", learning_rate=1e-12, seed=4)
    # (weight_init draws the fresh domain classifier only: the rest is the CNN's)
    started = training.train(settings("dann", init_from="cnn", weight_init="he", **still), source, target,
                             checkpoint_dir=tmp_path / "ck2", options=FAST, init=training.StartingWeights(state))
    scratch = training.train(settings("dann", **still), source, target, checkpoint_dir=tmp_path / "ck3", options=FAST)
    distance = lambda m: sum(float((m.state_dict()[k] - v).abs().sum()) for k, v in cnn.state_dict().items())  # noqa: E731
    assert distance(started.model) < 1e-3 * distance(scratch.model)
    with pytest.raises(ValueError, match="must be given exactly when it is set"):
        training.train(dann_settings, source, target, checkpoint_dir=tmp_path / "ck4", options=FAST)
    with pytest.raises(training.WeightsFileError, match="cnn.pt: model 'cnn' has labels, channels, input_transform"):
        training.initial_state(tmp_path / "cnn.pt", settings("dann", init_from="cnn"))
    with pytest.raises(training.WeightsFileError, match=r"'sqrt', 'relu', 'none'\); this one needs .*'leaky_relu', 'none'\)"):
        training.initial_state(tmp_path / "cnn.pt", settings("dann", input_transform="sqrt", activation="leaky_relu", init_from="cnn"))


@pytest.mark.parametrize("layers", [{"activation": "leaky_relu"}, {"normalization": "batch"}])
def test_the_layers_chosen_are_trained_saved_and_loaded_with_the_weights(samples, tmp_path, layers):
    source, _ = samples
    chosen = settings(epochs=1, **layers)
    result = training.train(chosen, source, checkpoint_dir=tmp_path / "ck", options=FAST)
    training.save_weights(result.model, chosen, tmp_path / "weights.pt", best_epoch=0)
    loaded = training.load_model(tmp_path / "weights.pt")
    assert same_weights(loaded, result.model)  # batch normalisation's running statistics included
    assert all(getattr(loaded, name) == value for name, value in layers.items())
    assert any(isinstance(m, (torch.nn.LeakyReLU, torch.nn.BatchNorm2d)) for m in loaded.modules())
    if "normalization" in layers:
        norm = next(m for m in loaded.modules() if isinstance(m, torch.nn.BatchNorm2d))
        assert norm.num_batches_tracked > 0 and not torch.equal(norm.running_mean, torch.zeros_like(norm.running_mean))


def copy_with(paths, directory, edit):
    directory.mkdir()
    copies = []
    for path in paths:
        copy = directory / Path(path).name
        copy.write_bytes(Path(path).read_bytes())
        with h5py.File(copy, "r+") as h5:
            edit(h5)
        copies.append(str(copy))
    return copies


@pytest.mark.parametrize("kind", ["dann", "mcc", "finetune"])
def test_target_labels_never_change_the_weights(samples, tmp_path, kind):
    source, target = samples
    # The control fine-tunes a CNN's weights: here those of a fresh CNN.
    torch.manual_seed(0)
    init = training.StartingWeights(models.build_model("cnn").state_dict()) if kind == "finetune" else None
    s = settings(kind, epochs=1, init_from="cnn" if init else None)

    def relabel(h5):
        h5["segments"][...] = (h5["segments"][:] + 5) % 11

    def brighten(h5):
        h5["hits-x"][...] = h5["hits-x"][:] * 1.5

    relabelled = copy_with(target, tmp_path / "relabelled", relabel)
    brighter = copy_with(target, tmp_path / "brighter", brighten)
    with h5py.File(relabelled[0]) as a, h5py.File(target[0]) as b:
        assert (a["segments"][:] != b["segments"][:]).all()

    def trained(target_files, directory):
        return training.train(s, source, target_files, checkpoint_dir=tmp_path / directory, options=FAST, init=init)

    base = trained(target, "a")
    assert same_weights(base.model, trained(relabelled, "b").model)
    # Other target images give other weights where the target takes part; the control reads none.
    assert same_weights(base.model, trained(brighter, "c").model) == (kind == "finetune")
    row = base.metrics[0]
    assert (row["val_dev_risk"] > 0) == (kind != "finetune")
    if kind == "dann":
        assert 0.0 <= row["val_domain_accuracy"] <= 1.0 and 0.0 <= row["val_domain_auc"] <= 1.0
        assert row["lambda"] > 0
    else:  # no domain classifier, no reversal coefficient
        assert np.isnan([row["val_domain_accuracy"], row["val_domain_auc"], row["lambda"]]).all()


def test_dev_selection_keeps_the_epoch_of_lowest_dev_risk(samples, tmp_path):
    source, target = samples
    result = training.train(settings("dann", epochs=3, selection="dev"), source, target,
                            checkpoint_dir=tmp_path / "dev", options=FAST)
    risks = [row["val_dev_risk"] for row in result.metrics]
    assert result.best_epoch == risks.index(min(risks))
    assert [row["selected"] for row in result.metrics].count(True) == 1


KILLED_RUN = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from minerva_vertex import training
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])

    def die(epoch, row):  # abrupt end after the first epoch's checkpoint, like a killed job
        os.kill(os.getpid(), signal.SIGKILL)

    training.train(
        training.TrainSettings(**args["settings"]), args["source"], args["target"],
        checkpoint_dir=args["checkpoint_dir"], options=training.RunOptions.from_section({"progress": False}),
        hooks=training.Hooks(on_epoch_end=die),
    )
    """
)


def test_resume_after_kill_ends_with_the_uninterrupted_weights(samples, tmp_path):
    import json

    source, target = samples
    s = settings("dann", epochs=2)
    checkpoint_dir = tmp_path / "killed"
    args = dict(settings=asdict(s), source=source, target=target, checkpoint_dir=str(checkpoint_dir))
    args["threads"] = torch.get_num_threads()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", KILLED_RUN, json.dumps(args)], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    state = torch.load(checkpoint_dir / training.CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 1

    resumed = training.train(s, source, target, checkpoint_dir=checkpoint_dir, options=FAST)
    assert resumed.resumed_from_epoch == 1
    straight = training.train(s, source, target, checkpoint_dir=tmp_path / "straight", options=FAST)
    assert straight.resumed_from_epoch == 0
    assert same_weights(resumed.model, straight.model)
    for a, b in zip(resumed.metrics, straight.metrics):
        assert a["val_label_loss"] == b["val_label_loss"] and a["train_label_loss"] == b["train_label_loss"]


class Stop(Exception):
    pass


def test_the_checkpoint_keeps_the_selection_score_and_an_older_one_still_resumes(samples, tmp_path):
    source, target = samples
    s = settings("dann", epochs=2, selection="dev")

    def stop(epoch, row):
        raise Stop

    with pytest.raises(Stop):
        training.train(s, source, target, checkpoint_dir=tmp_path / "ck", options=FAST, hooks=training.Hooks(on_epoch_end=stop))
    path = tmp_path / "ck" / training.CHECKPOINT_NAME
    state = torch.load(path, weights_only=True)
    assert state["best_selection_score"] == state["metrics"][0]["val_dev_risk"]  # the DEV risk, not a loss
    state["best_val_loss"] = state.pop("best_selection_score")  # as checkpoints were written before
    safe_write.torch_save(state, path)
    resumed = training.train(s, source, target, checkpoint_dir=tmp_path / "ck", options=FAST)
    straight = training.train(s, source, target, checkpoint_dir=tmp_path / "straight", options=FAST)
    assert resumed.resumed_from_epoch == 1 and resumed.best_epoch == straight.best_epoch
    assert same_weights(resumed.model, straight.model)


def test_checkpoint_of_other_settings_or_inputs_is_not_resumed(samples, tmp_path):
    source, _ = samples
    device = torch.device("cpu")
    inputs = training.input_identity(source)
    fp = training.fingerprint(settings(), FAST, device, inputs)
    assert fp == training.fingerprint(settings(), FAST, device, training.input_identity(source))
    assert fp != training.fingerprint(settings(seed=9), FAST, device, inputs)
    assert fp != training.fingerprint(settings(), FAST, device, [[*inputs[0][:2], 0], inputs[1]])
    path = tmp_path / "checkpoint.pt"
    safe_write.torch_save({"format": training.CHECKPOINT_FORMAT, "fingerprint": fp, "epoch": 1}, path)
    assert training.load_checkpoint(path, fp)["epoch"] == 1
    assert training.load_checkpoint(path, "other") is None
    assert not list(tmp_path.glob(".*tmp*"))
    # Options that choose the data order are part of the fingerprint; progress bars are not.
    chunked = training.RunOptions.from_section({"progress": False, "chunk_events": 7})
    quiet = training.RunOptions.from_section({"progress": True})
    assert fp != training.fingerprint(settings(), chunked, device, inputs)
    assert fp == training.fingerprint(settings(), quiet, device, inputs)


class Payload:
    pass


def test_weights_are_read_without_unpickling_objects(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"kind": "cnn", "channels": 1, "dropout": 0.5, "state_dict": {}, "extra": Payload()}, path)
    with pytest.raises(training.WeightsFileError, match="weights.pt: not a weights file of this project") as error:
        training.load_model(path)
    assert "weights_only=False" not in str(error.value)  # torch's advice would unpickle code


@pytest.mark.parametrize("content", [b"not a torch file", None])
def test_foreign_or_truncated_weights_name_the_file(tmp_path, content):
    path = tmp_path / "weights.pt"
    if content is None:  # a real weights file cut short, as by a full disk
        torch.save({"kind": "cnn", "channels": 1, "dropout": 0.5, "state_dict": {"w": torch.zeros(1000)}}, path)
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.write_bytes(content)
    with pytest.raises(training.WeightsFileError, match=f"{path}: not a weights file of this project"):
        training.load_model(path)


def test_device_selection_on_this_machine():
    assert devices.choose_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert devices.choose_device("auto").type == expected
    with pytest.raises(ValueError):
        devices.choose_device("tpu")
    assert not devices.autocast_for(torch.device("cpu"))._enabled
    assert devices.data_device(torch.device("cpu"), 10**9).type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA"):
            devices.choose_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_with_bf16_autocast(samples, tmp_path):
    source, target = samples
    options = training.RunOptions.from_section({"device": "cuda", "progress": False})
    assert devices.data_device(torch.device("cuda"), 10**6).type == "cuda"
    result = training.train(settings("dann", epochs=1), source, target, checkpoint_dir=tmp_path, options=options)
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
    assert next(result.model.parameters()).device.type == "cpu"


def test_the_schemas_are_the_only_defaults():
    # Every setting and run option is a schema property; the dataclasses hold no defaults
    # (target_sample alone may be absent: only a dann has one).
    properties = settings_module.schema_of("models", entry=True)["properties"]
    assert {f.name for f in fields(training.TrainSettings)} == set(properties)
    assert [f.name for f in fields(training.TrainSettings) if f.default is not MISSING] == ["target_sample"]
    run_schema = settings_module.schema_of("training")["properties"]
    assert {f.name for f in fields(training.RunOptions)} <= set(run_schema)
    assert all(f.default is MISSING for f in fields(training.RunOptions))
    filled = training.TrainSettings.from_dict({"kind": "cnn", "train_sample": "a"})
    assert filled.epochs == properties["epochs"]["default"] and filled.optimizer == properties["optimizer"]["default"]


def test_the_workflow_fills_defaults_once_and_rule_train_builds_on_the_filled_values():
    from snakemake.utils import validate

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    raw_models, raw_training = copy.deepcopy(config["models"]), copy.deepcopy(config["training"])
    validate(config, str(REPO / "workflow/schemas/config.schema.yaml"))  # as the Snakefile does: it fills
    for name, entry in raw_models.items():  # the rule's params.model is the validated entry
        assert training.TrainSettings.from_filled(config["models"][name], name) == training.TrainSettings.from_dict(entry, name)
    params = settings_module.result_part(config, "training")  # the rule's params.run
    from_rule = training.RunOptions.from_filled(settings_module.with_run_only(params, config, "training"))
    assert from_rule == training.RunOptions.from_section(raw_training)
    # Settings built from filled values never fall back on a default of their own.
    with pytest.raises(SettingsError, match="'models.cnn': missing .*optimizer"):
        training.TrainSettings.from_filled(raw_models["cnn"], "cnn")
    with pytest.raises(SettingsError, match="'training': missing .*precision"):
        training.RunOptions.from_filled({"device": "cpu"})


def test_run_options_of_the_training_section_reach_the_training(samples, tmp_path, monkeypatch):
    """Rule train's options (its params and the run-only knobs of the validated config)
    reach the training: every option in them must act."""
    source = write_sample(tmp_path / "larger", 2, 40, seed=5)  # 64 training events: 3.3 MB
    built = []
    original = datasets.ChunkedBatches.__init__

    def spy(self, selection, channels, labels, batch_size, chunk_events, *args):
        built.append(chunk_events)
        original(self, selection, channels, labels, batch_size, chunk_events, *args)

    monkeypatch.setattr(datasets.ChunkedBatches, "__init__", spy)
    section = {"progress": False, "device": "cpu", "memory_limit_mb": 1, "chunk_events": 7, "channels_last": False}
    out = tmp_path / "out"
    config = {"training": settings_module.section("training", {**section, "threads": 1, "mem_mb": 1000})}
    params = settings_module.result_part(config, "training")  # the rule's params.run
    options = training.RunOptions.from_filled(settings_module.with_run_only(params, config, "training"))
    training.train_to_files(
        "cnn", settings(epochs=1), options, source_files=source,
        files=training.ModelFiles(out / "w.pt", out / "config.yaml", out / "m.csv", tmp_path / "ck"),
    )
    assert built and set(built) == {7}  # over 1 MB: read by chunks of 7
    recorded = yaml.safe_load((out / "config.yaml").read_text())["run"]
    assert {key: recorded[key] for key in section} == section


def test_damaged_checkpoint_is_set_aside_and_training_starts_over(samples, tmp_path, caplog):
    source, _ = samples
    checkpoint_dir = tmp_path / "ck"
    checkpoint_dir.mkdir()
    damaged = checkpoint_dir / training.CHECKPOINT_NAME
    first = training.train(settings(epochs=1), source, checkpoint_dir=tmp_path / "good", options=FAST)
    good = (tmp_path / "good" / training.CHECKPOINT_NAME).read_bytes()
    damaged.write_bytes(good[: len(good) // 3])  # truncated, as by a killed copy or a full disk
    with caplog.at_level("WARNING"):
        again = training.train(settings(epochs=1), source, checkpoint_dir=checkpoint_dir, options=FAST)
    assert again.resumed_from_epoch == 0 and same_weights(again.model, first.model)
    assert str(damaged) in caplog.text and "cannot be read" in caplog.text
    assert (checkpoint_dir / (training.CHECKPOINT_NAME + ".damaged")).exists()
    assert torch.load(damaged, weights_only=True)["epoch"] == 1  # a fresh, readable one


def test_full_disk_names_the_checkpoint_and_leaves_no_temporary_file(samples, tmp_path, monkeypatch):
    source, _ = samples
    checkpoint_dir = tmp_path / "ck"
    checkpoint_dir.mkdir()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = checkpoint_dir / f".{training.CHECKPOINT_NAME}.{int(finished.stdout)}.tmp"  # of a killed job
    stale.write_bytes(b"x" * 1000)
    real_save = torch.save

    def full_disk(obj, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full_disk)
    for _ in range(2):
        with pytest.raises(safe_write.WriteError, match=f"{checkpoint_dir / training.CHECKPOINT_NAME}.*No space left"):
            training.train(settings(epochs=1), source, checkpoint_dir=checkpoint_dir, options=FAST)
    assert list(checkpoint_dir.iterdir()) == []  # neither this job's partial file nor the killed one's
    monkeypatch.setattr(torch, "save", real_save)


def test_default_config_models_are_valid():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    workflow_config.check_models(config)
    assert {"cnn", "dann", "oracle"} <= set(config["models"])
    for name in config["models"]:
        training.TrainSettings.from_dict(config["models"][name], name)
    assert workflow_config.training_samples(config["models"]["dann"]) == {"source": "simulation", "target": "data_like"}


@pytest.mark.parametrize(
    "model, key",
    [
        ({"kind": "cnn", "train_sample": "nope"}, "models.m.train_sample"),
        ({"kind": "dann", "train_sample": "sim"}, "models.m.target_sample"),
        ({"kind": "dann", "train_sample": "sim", "target_sample": "nope"}, "models.m.target_sample"),
        ({"kind": "cnn", "train_sample": "sim", "target_sample": "real"}, "models.m.target_sample"),
        ({"kind": "cnn", "train_sample": "real"}, "models.m.train_sample"),
        ({"kind": "cnn", "train_sample": "sim", "init_from": "nope"}, "models.m.init_from"),
        ({"kind": "cnn", "train_sample": "sim", "init_from": "m"}, "models.m.init_from"),
        ({"kind": "mcc", "train_sample": "sim"}, "models.m.target_sample"),
        ({"kind": "finetune", "train_sample": "sim"}, "models.m.init_from"),
    ],
)
def test_model_cross_checks_name_the_key(model, key):
    config = {
        "samples": {"sim": {"simulate": {}}, "real": {"files": ["x.root"], "has_truth": False}},
        "models": {"m": model},
    }
    with pytest.raises(ConfigError) as error:
        workflow_config.check_models(config)
    assert error.value.key == key


def test_unknown_or_invalid_settings_are_refused_naming_the_key():
    with pytest.raises(SettingsError, match="models.m.*epoch"):
        training.TrainSettings.from_dict({"kind": "cnn", "train_sample": "a", "epoch": 3}, "m")
    with pytest.raises(SettingsError, match="'models.m.optimizer'"):
        training.TrainSettings.from_dict({"kind": "cnn", "train_sample": "a", "optimizer": "lbfgs"}, "m")
    with pytest.raises(SettingsError, match="'training.chunk_events'"):
        training.RunOptions.from_section({"chunk_events": 0})


def test_train_params_hold_what_changes_the_weights_and_no_resource():
    config = {"training": settings_module.section("training", {})}
    params = settings_module.result_part(config, "training")
    assert {"memory_limit_mb", "chunk_events", "device", "channels_last", "precision", "compile"} == set(params)
    options = training.RunOptions.from_section(config["training"])
    assert options.result_options() == params  # the fingerprint sees the same options


KILLED_MID_EPOCH = textwrap.dedent(
    """
    import json, os, signal, sys
    import torch
    from minerva_vertex import training
    args = json.loads(sys.argv[1])
    torch.set_num_threads(args["threads"])

    def die(steps, model):  # killed mid-epoch, after the checkpoint of step 3
        if steps == args["kill_after"]:
            os.kill(os.getpid(), signal.SIGKILL)

    options = training.RunOptions.from_section({"progress": False, "checkpoint_minutes": 0})
    training.train(
        training.TrainSettings(**args["settings"]), args["source"], args["target"],
        checkpoint_dir=args["checkpoint_dir"], options=options, hooks=training.Hooks(on_step=die),
    )
    """
)


@pytest.mark.parametrize("averaging", ["none", "ema"])
def test_a_job_killed_mid_epoch_resumes_there_and_ends_with_the_uninterrupted_weights(samples, tmp_path, averaging):
    import json

    source, target = samples
    # One epoch: only the mid-epoch checkpoint can be resumed. With weight averaging the kept
    # weights are the average, which must come back from the checkpoint too.
    s = settings("dann", epochs=1, batch_size=2, weight_averaging=averaging, ema_decay=0.7)
    checkpoint_dir = tmp_path / "killed"
    args = dict(settings=asdict(s), source=source, target=target, checkpoint_dir=str(checkpoint_dir), kill_after=4)
    args["threads"] = torch.get_num_threads()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run([sys.executable, "-c", KILLED_MID_EPOCH, json.dumps(args)], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    state = torch.load(checkpoint_dir / training.CHECKPOINT_NAME, weights_only=True)
    assert state["epoch"] == 0 and state["partial"]["steps"] == 3  # step 4's checkpoint never came

    steps_seen = []
    options = training.RunOptions.from_section({"progress": False, "checkpoint_minutes": 0})
    resumed = training.train(s, source, target, checkpoint_dir=checkpoint_dir, options=options,
                             hooks=training.Hooks(on_step=lambda n, m: steps_seen.append(n)))
    assert steps_seen[0] == 4  # steps 1-3 are not trained again
    assert (resumed.resumed_from_epoch, resumed.resumed_from_step) == (0, 3)
    assert training.describe_resume(resumed) == "resumed in epoch 1 after step 3"
    straight = training.train(s, source, target, checkpoint_dir=tmp_path / "straight", options=FAST)
    assert same_weights(resumed.model, straight.model)
    a, b = resumed.metrics[0], straight.metrics[0]
    assert a["train_label_loss"] == pytest.approx(b["train_label_loss"], rel=1e-6)
    assert a["train_domain_accuracy"] == b["train_domain_accuracy"] and a["val_label_loss"] == b["val_label_loss"]


def test_the_kept_weights_are_the_moving_average_of_the_trained_ones(samples, tmp_path):
    """With weight_averaging: ema the kept network is the exponential moving average of the
    weights after each step (the first step's copied), worked out here by hand from the
    trajectory of the same training without averaging, which averaging must not change."""
    source, _ = samples
    trajectory = []

    def record(steps, model):
        trajectory.append({k: v.detach().clone().double() for k, v in model.state_dict().items()})

    plain = settings(epochs=1, batch_size=4)
    training.train(plain, source, checkpoint_dir=tmp_path / "plain", options=FAST, hooks=training.Hooks(on_step=record))
    decay = 0.8
    average = dict(trajectory[0])
    for weights in trajectory[1:]:
        average = {k: decay * average[k] + (1 - decay) * weights[k] for k in average}
    averaged = training.train(
        settings(epochs=1, batch_size=4, weight_averaging="ema", ema_decay=decay), source,
        checkpoint_dir=tmp_path / "ema", options=FAST,
    )
    kept = averaged.model.state_dict()
    assert len(trajectory) > 3
    for key, value in average.items():
        torch.testing.assert_close(kept[key].double(), value, rtol=1e-5, atol=1e-6)
    assert not torch.equal(kept["predictor.net.0.weight"].double(), trajectory[-1]["predictor.net.0.weight"])


# --- what stops a training early, with a named error ------------------------------------------
def _train_files(name, source, tmp_path, **kwargs):
    out = tmp_path / "models" / name
    return training.train_to_files(
        name, settings(epochs=1), FAST, source_files=source, files=model_files(out, tmp_path / "ck"), **kwargs,
    )


@pytest.mark.parametrize("split, message", [(0, "the training loss of epoch 1 is not finite from step"), (1, "val_label_loss of epoch 1 is nan")])
def test_a_loss_that_is_not_finite_stops_the_training_naming_model_epoch_and_files(samples, tmp_path, split, message):
    source, _ = samples

    def overflow(h5):  # a pixel of float32 overflow in one event of the split
        event = int(list(h5["split"][:]).index(split))
        h5["hits-x"][event, 0, 60, 10] = float("inf")

    broken = copy_with(source, tmp_path / "broken", overflow)
    with pytest.raises(training.NonFiniteLossError, match=rf"model 'cnn': {message}.*part000\.h5"):
        _train_files("cnn", broken, tmp_path)
    assert not (tmp_path / "models" / "cnn" / "weights.pt").exists()


def test_shared_event_ids_stop_a_training_before_it_starts(samples, tmp_path):
    source, _ = samples
    copy = tmp_path / "copy" / "part009.h5"
    copy.parent.mkdir()
    copy.write_bytes(Path(source[0]).read_bytes())  # one production listed twice under two names
    with pytest.raises(DuplicateEventError, match=r"appears in files .*part000\.h5 and .*part009\.h5"):
        _train_files("cnn", [*source, str(copy)], tmp_path)
    assert not (tmp_path / "ck").exists()  # no epoch was trained


DAMAGED_CHECKPOINT_JOB = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from minerva_vertex import training
    from minerva_vertex.job_log import job_log
    with job_log(sys.argv[2]):
        training.load_checkpoint(Path(sys.argv[1]), "any")
    """
)


def test_a_damaged_checkpoint_is_reported_on_the_console_too(tmp_path):
    damaged = tmp_path / training.CHECKPOINT_NAME
    damaged.write_bytes(b"PK\x03\x04 cut short")
    log = tmp_path / "train.log"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run([sys.executable, "-c", DAMAGED_CHECKPOINT_JOB, str(damaged), str(log)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    (line,) = [line for line in run.stderr.splitlines() if line.strip()]
    assert line.startswith("Warning: checkpoint ") and str(damaged) in line and "training starts over" in line
    assert "cannot be read" in log.read_text()
