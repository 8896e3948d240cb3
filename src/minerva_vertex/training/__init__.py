"""Training of the vertex CNN and the DANN, one module per job.

- :mod:`.settings`: the model's settings and the run options, from the validated config;
- :mod:`.checkpoints`: resumable state outside the rule's outputs;
- :mod:`.loop`: the loop, one loss per model kind, validation and model selection;
- :mod:`.outputs`: the weights, settings and per-epoch metrics rule ``train`` declares.
"""

from .checkpoints import CHECKPOINT_FORMAT, CHECKPOINT_NAME, fingerprint, input_identity, load_checkpoint
from .loop import NonFiniteLossError, TrainResult, epoch_generator, predict_logits, start_from, train, train_step, validate
from .outputs import (
    METRIC_COLUMNS,
    WeightsFileError,
    describe_resume,
    initial_state,
    load_model,
    save_weights,
    train_to_files,
    write_metrics_csv,
    write_settings_yaml,
)
from .settings import RunOptions, TrainSettings

__all__ = [
    "CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "METRIC_COLUMNS", "NonFiniteLossError", "RunOptions", "TrainResult",
    "TrainSettings", "WeightsFileError", "describe_resume", "epoch_generator", "fingerprint", "initial_state", "input_identity",
    "load_checkpoint", "load_model", "predict_logits", "save_weights", "start_from", "train", "train_step",
    "train_to_files", "validate", "write_metrics_csv", "write_settings_yaml",
]
