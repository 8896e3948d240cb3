"""The adaptation kinds beside the DANN: minimum class confusion (mcc) and the fine-tuning
control (finetune). The loss against a hand computation, the control's steps and source
events against its DANN's, tiny trainings of both through rule train's entry point."""

import dataclasses

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from image_fixtures import write_source_and_target
from minerva_vertex import models, training, workflow_config
from minerva_vertex.training import context
from minerva_vertex.training.mcc import class_confusion

FAST = training.RunOptions.from_section({"progress": False})
LOGITS = [[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 3.0, 0.0], [1.0, 1.0, -2.0]]


def hand_mcc(logits, temperature):
    """Jin et al. 2020, step by step in float64, with loops where the formula has sums."""
    z = np.asarray(logits, dtype=np.float64) / temperature
    n_events, n_classes = z.shape
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # 1. softmax at temperature T
    entropy = -(p * np.log(p + 1e-5)).sum(axis=1)  # 2. entropy of each event
    w = 1 + np.exp(-entropy)  # 3. event weights ...
    w = n_events * w / w.sum()  # ... summing to the batch size
    m = np.zeros((n_classes, n_classes))  # 4. class correlation: sum over events of w p_i p_j
    for i in range(n_classes):
        for j in range(n_classes):
            m[i, j] = sum(w[b] * p[b, i] * p[b, j] for b in range(n_events))
    rows = np.array([[m[i, j] / m[i].sum() for j in range(n_classes)] for i in range(n_classes)])  # 5. rows to 1
    reference_form = m / m.sum(axis=1)  # the reference code's broadcast: column j over row j's sum
    loss = (rows.sum() - np.trace(rows)) / n_classes  # 6. off-diagonal sum over the classes
    return loss, (reference_form.sum() - np.trace(reference_form)) / n_classes


@pytest.mark.parametrize("temperature", [2.5, 1.0])
def test_the_mcc_loss_equals_a_hand_computation(temperature):
    expected, as_the_reference_writes_it = hand_mcc(LOGITS, temperature)
    got = class_confusion(torch.tensor(LOGITS), temperature)
    assert got.dtype == torch.float32
    assert float(got) == pytest.approx(expected, rel=1e-6)
    assert as_the_reference_writes_it == pytest.approx(expected, rel=1e-12)  # the matrix is symmetric
    assert 0.05 < expected < 2 / 3  # between no confusion and the uniform batch's


def test_the_mcc_loss_of_uniform_and_of_confident_unconfused_predictions():
    n_classes = 11
    # Every class equally likely for every event: each normalised row is 1/C everywhere.
    assert float(class_confusion(torch.zeros(8, n_classes), 2.5)) == pytest.approx((n_classes - 1) / n_classes, rel=1e-6)
    confident = torch.full((n_classes, n_classes), -40.0).fill_diagonal_(40.0)  # one class each, all different
    assert float(class_confusion(confident, 2.5)) < 1e-6


def test_the_entropy_weights_pass_no_gradient_and_autocast_changes_nothing():
    logits = torch.tensor(LOGITS, requires_grad=True)
    class_confusion(logits, 2.5).backward()
    # The same loss with the event weights as constants, computed from a detached copy.
    fixed = torch.tensor(LOGITS, requires_grad=True)
    p_fixed = torch.softmax(fixed.detach() / 2.5, dim=1)
    w = 1 + torch.exp((p_fixed * torch.log(p_fixed + 1e-5)).sum(1))
    w = len(w) * w / w.sum()
    p = torch.softmax(fixed / 2.5, dim=1)
    m = (p * w[:, None]).T @ p
    m = m / m.sum(1, keepdim=True)
    ((m.sum() - m.trace()) / 3).backward()
    torch.testing.assert_close(logits.grad, fixed.grad)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = class_confusion(torch.tensor(LOGITS), 2.5)
    assert under_autocast.dtype == torch.float32
    assert float(under_autocast) == float(class_confusion(torch.tensor(LOGITS), 2.5))


# --- tiny trainings ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return write_source_and_target(tmp_path_factory.mktemp("samples"))


@pytest.fixture(scope="module")
def cnn_weights(tmp_path_factory):
    """The weights file of an (untrained) CNN, as rule train writes it, to start from."""
    path = tmp_path_factory.mktemp("cnn") / "weights.pt"
    torch.manual_seed(7)
    cnn_settings = settings("cnn")
    training.save_weights(models.build_model("cnn"), cnn_settings, path, best_epoch=0)
    return path


def settings(kind, **overrides):
    values = dict(kind=kind, train_sample="source", epochs=1, batch_size=4, seed=3)
    if kind in ("dann", "mcc"):
        values["target_sample"] = "target"
    if kind == "finetune":
        values["init_from"] = "cnn"
    return training.TrainSettings.from_dict({**values, **overrides})


def train_files(kind, s, tmp_path, source, target=(), init_weights=None):
    out = tmp_path / kind
    files = training.ModelFiles(out / "weights.pt", out / "config.yaml", out / "metrics.csv", tmp_path / f"ck_{kind}")
    result = training.train_to_files(kind, s, FAST, source_files=source, target_files=target, files=files,
                                     init_weights=init_weights)
    return result, out


def test_an_mcc_network_trains_through_rule_trains_entry_point(samples, tmp_path):
    source, target = samples
    result, out = train_files("mcc", settings("mcc", epochs=2), tmp_path, source, target)
    metrics = pd.read_csv(out / "metrics.csv")
    assert len(metrics) == 2 and metrics["selected"].sum() == 1
    assert metrics["lambda"].isna().all() and metrics["val_domain_auc"].isna().all()  # no domain classifier
    assert (metrics["val_dev_risk"] > 0).all()  # the target's features weigh the source losses
    loaded = training.load_model(out / "weights.pt")
    assert type(loaded) is models.VertexMCC and not hasattr(loaded, "domain_classifier")
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), result.model.state_dict().values()))
    assert yaml.safe_load((out / "config.yaml").read_text())["target_files"] == [str(p) for p in target]
    # The class confusion takes part: without it the same training ends elsewhere.
    unweighted = settings("mcc", epochs=2, mcc_loss_weight=0.0)
    plain = training.train(unweighted, source, target, checkpoint_dir=tmp_path / "w0", options=FAST)
    assert not torch.equal(plain.model.predictor.net[0].weight, result.model.predictor.net[0].weight)
    with pytest.raises(ValueError, match="a model of kind 'mcc' needs the target sample's image files"):
        training.train(settings("mcc"), source, checkpoint_dir=tmp_path / "none", options=FAST)


def test_a_finetune_control_trains_from_its_starting_weights(samples, tmp_path, cnn_weights):
    source, _ = samples
    result, out = train_files("finetune", settings("finetune"), tmp_path, source, init_weights=cnn_weights)
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["lambda"].isna().all() and metrics["val_dev_risk"].isna().all()  # no target at all
    assert type(training.load_model(out / "weights.pt")) is models.VertexFinetune
    start = training.load_model(cnn_weights).state_dict()
    distance = lambda m: sum(float((m.state_dict()[k] - v).abs().sum()) for k, v in start.items())  # noqa: E731
    still, _ = train_files("finetune", settings("finetune", learning_rate=1e-12), tmp_path / "still", source,
                           init_weights=cnn_weights)
    assert distance(still.model) < 1e-3 * distance(result.model)  # it starts where the CNN is, and learns
    with pytest.raises(ValueError, match="kind 'finetune' fine-tunes another model's weights: it needs init_from"):
        training.train(settings("finetune", init_from=None), source, checkpoint_dir=tmp_path / "none", options=FAST)


def event_ids_by_image(paths) -> dict[bytes, int]:
    """Each event's id, keyed by the bytes of its X image (every test event's noise differs)."""
    ids = {}
    for path in paths:
        with h5py.File(path) as h5:
            for image, event in zip(h5["hits-x"][:], h5["eventids"][:]):
                ids[image.tobytes()] = int(event)
    return ids


def training_event_ids(paths) -> list[int]:
    ids = []
    for path in paths:
        with h5py.File(path) as h5:
            ids += [int(event) for event, split in zip(h5["eventids"][:], h5["split"][:]) if split == 0]
    return ids


def test_the_control_takes_the_steps_source_events_and_rates_of_its_dann(samples, tmp_path, cnn_weights, monkeypatch):
    source, target = samples
    event_of = event_ids_by_image(source)
    steps = {"dann": [], "finetune": []}
    original = context.train_step

    def spy(model, optimizer, s, source_batch, target_batch, lambda_, compute):
        ids = [event_of[image.numpy().tobytes()] for image in source_batch.x]
        steps[s.kind].append((ids, optimizer.param_groups[0]["lr"], target_batch is None))
        return original(model, optimizer, s, source_batch, target_batch, lambda_, compute)

    monkeypatch.setattr(context, "train_step", spy)
    dann = settings("dann", epochs=2, init_from="cnn", lr_schedule="onecycle", seed=5)
    control = dataclasses.replace(dann, kind="finetune", target_sample=None)  # the DANN's settings, less its target
    init = training.StartingWeights(training.initial_state(cnn_weights, dann))
    adapted = training.train(dann, source, target, checkpoint_dir=tmp_path / "dann", options=FAST, init=init)
    controlled = training.train(control, source, checkpoint_dir=tmp_path / "control", options=FAST, init=init)
    assert len(steps["dann"]) == len(steps["finetune"]) == 2 * 5  # 18 training events in batches of 4, twice
    assert [ids for ids, _, _ in steps["finetune"]] == [ids for ids, _, _ in steps["dann"]]
    assert [lr for _, lr, _ in steps["finetune"]] == [lr for _, lr, _ in steps["dann"]]
    assert all(no_target for _, _, no_target in steps["finetune"]) and not any(t for _, _, t in steps["dann"])
    first, second = (sum((ids for ids, _, _ in steps["dann"][e * 5:(e + 1) * 5]), []) for e in range(2))
    assert sorted(first) == sorted(second) == sorted(training_event_ids(source))  # every training event once an epoch
    assert first != second  # each epoch its own order: the comparison is of a real shuffle
    assert len(set(lr for _, lr, _ in steps["dann"])) > 5  # the one-cycle schedule, step by step
    assert not torch.equal(adapted.model.predictor.net[0].weight, controlled.model.predictor.net[0].weight)


@pytest.mark.parametrize(
    "model, key, message",
    [
        ({"kind": "mcc", "train_sample": "sim"}, "target_sample", "kind 'mcc' needs a target sample"),
        ({"kind": "mcc", "train_sample": "sim", "target_sample": "sim"}, "target_sample", "must differ"),
        ({"kind": "finetune", "train_sample": "sim"}, "init_from", "kind 'finetune' fine-tunes another model's weights"),
        ({"kind": "finetune", "train_sample": "sim", "target_sample": "data", "init_from": "cnn"}, "target_sample",
         "only dann and mcc models take a target sample"),
        ({"kind": "finetune", "train_sample": "sim", "init_from": "cnn", "selection": "dev"}, "selection", "dev needs a target"),
        ({"kind": "cnn", "train_sample": "sim", "selection": "dev"}, "selection", "dev needs a target"),
    ],
)
def test_config_checks_of_the_new_kinds_name_the_key(model, key, message):
    config = {
        "samples": {"sim": {"simulate": {}}, "data": {"simulate": {}}},
        "models": {"cnn": {"kind": "cnn", "train_sample": "sim"}, "m": model},
    }
    with pytest.raises(workflow_config.ConfigError, match=message) as error:
        workflow_config.check_models(config)
    assert error.value.key == f"models.m.{key}"


def test_the_new_kinds_train_on_the_samples_of_their_role():
    mcc = {"kind": "mcc", "train_sample": "sim", "target_sample": "data"}
    control = {"kind": "finetune", "train_sample": "sim", "init_from": "cnn"}
    assert workflow_config.training_samples(mcc) == {"source": "sim", "target": "data"}
    assert workflow_config.training_samples(control) == {"source": "sim"}
    config = {"samples": {"sim": {"simulate": {}}, "data": {"simulate": {}}},
              "models": {"cnn": {"kind": "cnn", "train_sample": "sim"}, "mcc": mcc, "control": control}}
    workflow_config.check_models(config)  # both are valid as written
