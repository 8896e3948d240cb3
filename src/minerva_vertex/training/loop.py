"""The training loop: load the data, build the network, resume or start, train the epochs,
select one.

- CUDA when present (data kept on the GPU when it fits), CPU otherwise; bf16 autocast where
  the device has bf16 natively (``precision: auto``). The same settings work on both. On a
  given CPU a seed gives the same weights every time.
- Freed buffers stay in the process for the next step to reuse (:mod:`minerva_vertex.allocator`).
- After every epoch and every ``checkpoint_minutes`` inside one, the whole state is
  checkpointed (:mod:`.checkpoints`); a restarted job resumes at that step and ends with the
  weights of an uninterrupted run.
- The steps and losses are in :mod:`.steps`, an epoch in :mod:`.epoch`, validation and the
  selection figure in :mod:`.validation`; each takes the run's :class:`.context.TrainingRun`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch

from minerva_vertex import allocator, datasets, model_kinds
from minerva_vertex.devices import Compute
from minerva_vertex.models import VertexCNN, build_model, initialise_weights

from . import checkpoints
from .context import Batches, Hooks, Learner, StartingWeights, TrainingRun, moving_average
from .epoch import train_epoch
from .settings import RunOptions, TrainSettings
from .steps import make_optimizer
from .validation import SELECTION_COLUMN, check_validation, validate

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    model: VertexCNN  # with the selected (best) epoch's weights, on the CPU
    metrics: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    resumed_from_epoch: int = 0
    resumed_from_step: int = 0  # steps of that epoch done before (0: from its start)
    compute: Compute | None = None  # where and how it trained, resolved


def train(
    settings: TrainSettings,
    source_files: Sequence[str | Path],
    target_files: Sequence[str | Path] = (),
    *,
    checkpoint_dir: str | Path,
    options: RunOptions,
    hooks: Hooks | None = None,
    init: StartingWeights | None = None,
) -> TrainResult:
    """Train ``settings`` on the image files; resume from ``checkpoint_dir`` when it holds
    a checkpoint of the same training. ``init``: the trained weights of the model named by
    ``settings.init_from``. ``hooks``: calls after each step and epoch (:class:`.context.Hooks`)."""
    _check_inputs(settings, target_files, init)
    allocator.keep_freed_memory()  # steps reuse their freed buffers instead of faulting them in
    compute = Compute.for_options(options)
    options = dataclasses.replace(options, precision=compute.precision)  # the fingerprint holds what ran
    if compute.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    batches = load_data(settings, options, compute.device, source_files, target_files)
    learner = build_learner(settings, options, compute, init)
    init_files = [] if init is None or init.file is None else [init.file]
    inputs = checkpoints.input_identity([*source_files, *target_files, *init_files])
    ctx = TrainingRun(
        settings, options, compute, batches, learner, hooks or Hooks(),
        checkpoint=checkpoints.checkpoint_path(checkpoint_dir),
        fingerprint=checkpoints.fingerprint(settings, options, compute.device, inputs),
    )
    resumed_from = resume_or_start(ctx)
    train_epochs(ctx)
    return select_epoch(ctx, *resumed_from)


def _check_inputs(s: TrainSettings, target_files: Sequence, init: StartingWeights | None) -> None:
    if model_kinds.takes_target(s.kind) and not target_files:
        raise ValueError(f"a model of kind '{s.kind}' needs the target sample's image files")
    if s.kind in model_kinds.STARTED_KINDS and s.init_from is None:
        raise ValueError(f"a model of kind '{s.kind}' fine-tunes another model's weights: it needs init_from")
    if (s.init_from is None) != (init is None):
        raise ValueError(f"init_from is {s.init_from!r}: its weights must be given exactly when it is set")


def load_data(s: TrainSettings, options: RunOptions, device: torch.device, source_files, target_files) -> Batches:
    """The source sample's train and validation batches; the target sample's, unlabelled, for
    a kind that learns from one (a DANN, MCC)."""
    reading = datasets.ReadOptions(
        batch_size=s.batch_size, memory_limit_mb=options.memory_limit_mb, chunk_events=options.chunk_events,
        device=device, progress=options.progress,
    )

    def load(paths, split, labels, max_events):
        return datasets.load_batches(paths, split, reading, channels=s.channels, labels=labels, max_events=max_events)

    batches = Batches(load(source_files, "train", s.labels, s.max_train_events), load(source_files, "validation", s.labels, s.max_val_events))
    if model_kinds.takes_target(s.kind):
        batches.target_train = load(target_files, "train", False, s.max_train_events)
        batches.target_val = load(target_files, "validation", False, s.max_val_events)
    return batches


def build_learner(s: TrainSettings, options: RunOptions, compute: Compute, init: StartingWeights | None) -> Learner:
    """The seeded network (from ``init``'s weights when given) on the device, its optimiser."""
    torch.manual_seed(s.seed)
    model = build_model(s.kind, s.channels, s.dropout, s.labels, s.input_transform, s.activation, s.normalization)
    initialise_weights(model, s.weight_init, s.activation)
    if init is not None:
        start_from(model, init.state, s.init_from)
    model = compute.layout(model.to(compute.device))
    optimizer = make_optimizer(model, s)
    averaged = moving_average(model, s.ema_decay) if s.weight_averaging == "ema" else None
    return Learner(model, optimizer, torch.compile(model) if options.compile else model, averaged)


def start_from(model: VertexCNN, state: dict, name: str) -> None:
    """Load the trained weights of model ``name`` into ``model``; a DANN started from a CNN
    keeps its fresh domain classifier, and nothing else may be missing or left over."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    fresh = [key for key in missing if not key.startswith("domain_classifier.")]
    if fresh or unexpected:
        raise ValueError(f"the weights of '{name}' do not fit this network: missing {fresh}, unexpected {unexpected}")


def resume_or_start(ctx: TrainingRun) -> tuple[int, int]:
    """Restore the run's checkpoint when it holds this training; the epoch and step it resumes at."""
    state = checkpoints.load_checkpoint(ctx.checkpoint, ctx.fingerprint)
    if state is not None:
        ctx.restore(state)
    start_epoch = ctx.run.epoch
    start_step = ctx.run.partial.steps if ctx.run.partial is not None else 0
    if state is not None:
        log.info("resuming from %s: epoch %d of %d, after step %d", ctx.checkpoint, start_epoch + 1, ctx.settings.epochs, start_step)
    return start_epoch, start_step


def train_epochs(ctx: TrainingRun) -> None:
    """The remaining epochs, each validated, compared with the best so far and checkpointed."""
    s, run = ctx.settings, ctx.run
    column = SELECTION_COLUMN[s.selection]
    for epoch in range(run.epoch, s.epochs):
        row = train_epoch(ctx, epoch)
        row.update(validate(ctx.learner.kept(), ctx.batches.source_val, ctx.batches.target_val, ctx.compute, s.seed))
        check_validation(row, ("val_label_loss", column), epoch)
        if row[column] < run.best_selection_score:
            run.best_selection_score, run.best_epoch = row[column], epoch
            run.best_state = ctx.learner.weights()
        run.metrics.append(row)
        run.epoch = epoch + 1
        ctx.saver.save_now(run)
        if ctx.hooks.on_epoch_end is not None:
            ctx.hooks.on_epoch_end(epoch, row)


def select_epoch(ctx: TrainingRun, resumed_from_epoch: int, resumed_from_step: int) -> TrainResult:
    """The network with the selected epoch's weights, on the CPU, and the metrics marking it."""
    s, run = ctx.settings, ctx.run
    final = build_model(s.kind, s.channels, s.dropout, s.labels, s.input_transform, s.activation, s.normalization)
    final.load_state_dict({k: v.cpu() for k, v in run.best_state.items()})
    for row in run.metrics:
        row["selected"] = row["epoch"] == run.best_epoch
    return TrainResult(final.eval(), run.metrics, run.best_epoch, resumed_from_epoch, resumed_from_step, ctx.compute)
