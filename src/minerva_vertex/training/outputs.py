"""What rule ``train`` declares: ``weights.pt``, ``config.yaml`` and ``metrics.csv``."""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import torch

from minerva_vertex import image_contract, safe_write
from minerva_vertex.models import VertexCNN, build_model, count_parameters

from .checkpoints import CHECKPOINT_FORMAT
from .context import StartingWeights
from .loop import TrainResult, train
from .settings import RunOptions, TrainSettings
from .steps import NonFiniteLossError

METRIC_COLUMNS = (
    "epoch",
    "train_label_loss",
    "train_accuracy",
    "train_domain_loss",
    "train_domain_accuracy",
    "val_label_loss",
    "val_accuracy",
    "val_domain_accuracy",
    "val_domain_auc",
    "val_dev_risk",
    "lambda",
    "learning_rate",
    "train_events_per_s",
    "epoch_seconds",
    "selected",
)
WEIGHTS_KEYS = ("kind", "channels", "dropout", "state_dict")


class WeightsFileError(ValueError):
    """A file that is not a weights file of this project, naming it."""


def save_weights(model: VertexCNN, settings: TrainSettings, path: str | Path, best_epoch: int) -> None:
    """The weights and what is needed to rebuild the network; tensors and plain types only,
    so :func:`load_model` reads them with ``weights_only=True``."""
    safe_write.torch_save(
        {
            "format": CHECKPOINT_FORMAT,
            "kind": settings.kind,
            "channels": settings.channels,
            "dropout": settings.dropout,
            "labels": settings.labels,
            "input_transform": settings.input_transform,
            "activation": settings.activation,
            "normalization": settings.normalization,
            "best_epoch": best_epoch,
            "settings": asdict(settings),
            "state_dict": model.state_dict(),
        },
        path,
    )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> VertexCNN:
    """A trained network from a weights file of rule train, in eval mode; never unpickles
    objects. Anything else raises :class:`WeightsFileError` naming the file."""
    not_ours = f"{path}: not a weights file of this project (rule train writes them as models/<name>/weights.pt)"
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsFileError(f"{not_ours}; reading it failed: {first_line}") from None
    if not isinstance(saved, Mapping) or not all(key in saved for key in WEIGHTS_KEYS):
        raise WeightsFileError(f"{not_ours}; it lacks {', '.join(WEIGHTS_KEYS)}")
    model = build_model(
        saved["kind"], saved["channels"], saved["dropout"], saved.get("labels", "segments"), saved.get("input_transform", "none"),
        saved.get("activation", "relu"), saved.get("normalization", "none"),
    )
    try:
        model.load_state_dict(saved["state_dict"])
    except RuntimeError as error:
        raise WeightsFileError(f"{not_ours}; its tensors do not fit a {saved['kind']} network: {error}") from None
    return model.to(device).eval()


def initial_state(path: str | Path, settings: TrainSettings) -> dict:
    """The weights a model starts from (``init_from``), read from their file; the network
    they were trained as must learn the same labels from the same inputs."""
    start = load_model(path)
    theirs = (start.labels, start.channels, start.extractor.input_transform, start.activation, start.normalization)
    ours = (settings.labels, settings.channels, settings.input_transform, settings.activation, settings.normalization)
    if theirs != ours:
        raise WeightsFileError(
            f"{path}: model '{settings.init_from}' has labels, channels, input_transform, activation, normalization {theirs}; this one needs {ours}"
        )
    return start.state_dict()


def write_metrics_csv(metrics: list[dict], path: str | Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(metrics, columns=list(METRIC_COLUMNS))
    safe_write.write_with(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


def write_settings_yaml(settings: TrainSettings, name: str, path: str | Path, extra: dict | None = None) -> None:
    import yaml

    document = {"model": name, "settings": asdict(settings), **(extra or {})}
    safe_write.write_text(path, yaml.safe_dump(document, sort_keys=False))


def describe_resume(result: TrainResult) -> str:
    """Where a training started: afresh, or the epoch (counted from 1) and step it resumed at."""
    if result.resumed_from_epoch == 0 and result.resumed_from_step == 0:
        return "trained from the start"
    if result.resumed_from_step == 0:
        return f"resumed at the start of epoch {result.resumed_from_epoch + 1}"
    return f"resumed in epoch {result.resumed_from_epoch + 1} after step {result.resumed_from_step}"


def _some(items: Sequence, shown: int = 3) -> list[str]:
    """The first ``shown`` of ``items`` and how many more, for a one-line message."""
    names = [str(item) for item in items[:shown]]
    return names + ([f"{len(items) - shown} more"] if len(items) > shown else [])


def _resolved(result: TrainResult) -> dict:
    """What ``auto`` became: the device type, precision and memory format trained with."""
    compute = result.compute
    return {"device": compute.device.type, "channels_last": compute.channels_last, "precision": compute.precision}


@dataclass(frozen=True)
class ModelFiles:
    """Where one model's files go: rule train's outputs and the checkpoint directory outside them."""

    weights: str | Path
    config: str | Path
    metrics: str | Path
    checkpoint_dir: str | Path


def train_to_files(
    name: str,
    settings: TrainSettings,
    options: RunOptions,
    *,
    source_files: Sequence[str | Path],
    target_files: Sequence[str | Path] = (),
    files: ModelFiles,
    init_weights: str | Path | None = None,
) -> TrainResult:
    """What rule ``train`` does: train model ``name`` (resuming when possible) and write every
    output. ``init_weights``: the weights file of the model named by ``init_from``. Its
    ``config.yaml`` records the run options with the device (cpu or cuda), precision (fp32
    or bf16) and memory format the training resolved and used."""
    init = None if init_weights is None else StartingWeights(initial_state(init_weights, settings), init_weights)
    # Event ids shared between a sample's files would pair events with the wrong truth at
    # the metrics: found here, before the training time is spent.
    for sample in (source_files, target_files):
        image_contract.check_sample_ids(sample)
    try:
        result = train(settings, source_files, target_files, checkpoint_dir=files.checkpoint_dir, options=options, init=init)
    except NonFiniteLossError as error:
        shown = ", ".join(_some([*source_files, *target_files]))
        raise NonFiniteLossError(
            f"model '{name}': {error}; its image files ({shown}) may hold absurd pixel values, "
            "or the learning rate is too high"
        ) from None
    save_weights(result.model, settings, files.weights, result.best_epoch)
    write_settings_yaml(
        settings,
        name,
        files.config,
        {
            "run": {**asdict(options), **_resolved(result), "threads": torch.get_num_threads()},
            "source_files": [str(p) for p in source_files],
            "target_files": [str(p) for p in target_files],
            "parameters": count_parameters(result.model),
            "selected_epoch": result.best_epoch,
            "resumed_from_epoch": result.resumed_from_epoch,
            "resumed_from_step": result.resumed_from_step,
        },
    )
    write_metrics_csv(result.metrics, files.metrics)
    return result
