"""Training of the vertex CNN, the DANN and the other kinds (:mod:`minerva_vertex.model_kinds`),
one module per job.

- :mod:`.settings`: the model's settings and the run options, from the validated config;
- :mod:`.checkpoints`: resumable state outside the rule's outputs; :mod:`.run_state`: what
  a run carries from epoch to epoch into it;
- :mod:`.context`: one run's context, which every step of the loop takes;
- :mod:`.steps`: one optimisation step, the loss of each model kind, optimiser and schedules;
  :mod:`.mcc`: the minimum class confusion loss of an mcc network;
- :mod:`.epoch`: one epoch, resumable mid-way;
- :mod:`.validation`: validation and the figure that selects the epoch;
- :mod:`.loop`: load the data, build the network, resume or start, the epochs, the selection;
- :mod:`.outputs`: the weights, settings and per-epoch metrics rule ``train`` declares.
"""

from .checkpoints import CHECKPOINT_FORMAT, CHECKPOINT_NAME, fingerprint, input_identity, load_checkpoint
from .context import Hooks, StartingWeights
from .epoch import epoch_generator
from .loop import TrainResult, start_from, train
from .outputs import (
    METRIC_COLUMNS,
    ModelFiles,
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
from .steps import NonFiniteLossError, train_step
from .validation import predict_logits, validate

__all__ = [
    "CHECKPOINT_FORMAT", "CHECKPOINT_NAME", "METRIC_COLUMNS", "Hooks", "ModelFiles", "NonFiniteLossError", "RunOptions",
    "StartingWeights", "TrainResult", "TrainSettings", "WeightsFileError", "describe_resume", "epoch_generator",
    "fingerprint", "initial_state", "input_identity", "load_checkpoint", "load_model", "predict_logits", "save_weights",
    "start_from", "train", "train_step", "train_to_files", "validate", "write_metrics_csv", "write_settings_yaml",
]
