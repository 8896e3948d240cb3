"""One training run's context: its settings, where it runs, its batches, the network with
its optimiser, the run state and the checkpoint it resumes from. Every step of
:func:`.loop.train` and each epoch takes this one object.

A piece of state that trains along with the weights belongs to :class:`Learner`: its
``step`` updates it, ``state``/``load`` carry it through the checkpoint and ``weights``
is what a selected epoch keeps. The moving average of the weights (``weight_averaging:
ema``) is such a piece: it is what is validated and kept, the trained weights go on
training.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from minerva_vertex.datasets import ChunkedBatches, InMemoryBatches
from minerva_vertex.devices import Compute
from minerva_vertex.models import VertexCNN

from . import checkpoints
from .run_state import PeriodicSave, RunState
from .settings import RunOptions, TrainSettings
from .steps import StepLosses, train_step


@dataclass(frozen=True)
class Hooks:
    """Calls into a running training: ``on_epoch_end(epoch, metrics)`` after each epoch's
    checkpoint is written; ``on_step(steps_done, model)`` after every optimisation step (the
    learning-curve benchmark scores the model there)."""

    on_epoch_end: Callable[[int, dict], None] | None = None
    on_step: Callable[[int, VertexCNN], None] | None = None


@dataclass(frozen=True)
class StartingWeights:
    """The trained weights of the model named by ``init_from`` and their file, which enters
    the resume fingerprint (None: not part of it)."""

    state: dict
    file: str | Path | None = None


EventBatches = InMemoryBatches | ChunkedBatches


@dataclass
class Batches:
    """The events trained and validated on; the target sample's only for a kind that learns
    from one (:data:`minerva_vertex.model_kinds.TARGET_KINDS`)."""

    source_train: EventBatches
    source_val: EventBatches
    target_train: EventBatches | None = None
    target_val: EventBatches | None = None


def moving_average(model: VertexCNN, decay: float) -> AveragedModel:
    """An exponential moving average of ``model``'s weights: ``decay`` of the average and
    ``1 - decay`` of the new weights at each update; its first update copies the weights."""
    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay))


@dataclass
class Learner:
    """The network, its optimiser, the module the steps run (the network, compiled or not)
    and, with weight averaging, the moving average of its weights."""

    model: VertexCNN
    optimizer: torch.optim.Optimizer
    step_model: torch.nn.Module
    averaged: AveragedModel | None = None

    def set_learning_rate(self, rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = rate

    def step(self, s: TrainSettings, source, target, lambda_: float, compute: Compute) -> StepLosses:
        losses = train_step(self.step_model, self.optimizer, s, source, target, lambda_, compute)
        if self.averaged is not None:
            self.averaged.update_parameters(self.model)
        return losses

    def kept(self) -> VertexCNN:
        """The network as it is validated and kept: the moving average when there is one."""
        return self.model if self.averaged is None else self.averaged.module

    def weights(self) -> dict:
        """A CPU copy of the kept weights, as a selected epoch keeps them."""
        return {k: v.detach().cpu().clone() for k, v in self.kept().state_dict().items()}

    def state(self) -> dict:
        """What a checkpoint holds of it."""
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict()}
        if self.averaged is not None:
            state["averaged"] = self.averaged.state_dict()
        return state

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.averaged is not None:
            self.averaged.load_state_dict(state["averaged"])


@dataclass
class TrainingRun:
    """Everything one training run works with (see the module's docstring)."""

    settings: TrainSettings
    options: RunOptions  # precision as resolved: the fingerprint holds what ran
    compute: Compute
    batches: Batches
    learner: Learner
    hooks: Hooks
    checkpoint: Path
    fingerprint: str
    run: RunState = field(default_factory=RunState)
    saver: PeriodicSave = field(init=False)

    def __post_init__(self) -> None:
        self.saver = PeriodicSave(self.save, self.options.checkpoint_minutes * 60.0)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.batches.source_train)

    @property
    def total_steps(self) -> int:
        return self.settings.epochs * self.steps_per_epoch

    def save(self, run: RunState) -> None:
        """The checkpoint of ``run`` with the weights, optimiser and random states."""
        cuda = self.compute.device.type == "cuda"
        checkpoints.save_checkpoint(
            self.checkpoint,
            {
                "fingerprint": self.fingerprint,
                **run.to_checkpoint(),
                **self.learner.state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if cuda else None,
            },
        )

    def restore(self, state: dict) -> None:
        """Where a checkpoint of this training left off."""
        self.learner.load(state)
        self.run = RunState.from_checkpoint(state)
        torch.set_rng_state(state["torch_rng"])
        if self.compute.device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
