"""The training loop: one loss per model kind, validation, model selection, resume.

- The label loss uses labelled source events only; a DANN's target sample is read without
  labels (``datasets.load_batches(..., labels=False)``).
- CUDA when present (data kept on the GPU when it fits), CPU otherwise; bf16 autocast where
  the device has bf16 natively (``precision: auto``). The same settings work on both. On a
  given CPU a seed gives the same weights every time.
- After every epoch and every ``checkpoint_minutes`` inside one, the whole state is
  checkpointed (:mod:`.checkpoints`); a restarted job resumes at that step and ends with the
  weights of an uninterrupted run.
- Model selection reads no target labels: the best epoch has the lowest loss on source
  validation events or (``selection: dev``) the lowest DEV risk; for a DANN the domain
  classifier's accuracy and AUC and the DEV risk on validation events of both domains are
  logged.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from minerva_vertex import datasets, metrics, schedules, validators
from minerva_vertex.devices import Compute
from minerva_vertex.models import VertexCNN, VertexDANN, build_model

from . import checkpoints
from .settings import RunOptions, TrainSettings

log = logging.getLogger(__name__)


class NonFiniteLossError(ValueError):
    """A training or validation loss that is NaN or infinite: no epoch can be selected."""


@dataclass
class TrainResult:
    model: VertexCNN  # with the selected (best) epoch's weights, on the CPU
    metrics: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    resumed_from_epoch: int = 0
    resumed_from_step: int = 0  # steps of that epoch done before (0: from its start)
    compute: Compute | None = None  # where and how it trained, resolved


# --- validation --------------------------------------------------------------------------
def validation_auc(scores: torch.Tensor, is_target: torch.Tensor) -> float:
    """Rank AUC of the domain logits; NaN when one domain has no events."""
    labels = is_target.bool().numpy()
    if labels.all() or not labels.any():
        return float("nan")
    return metrics.rank_auc(scores.double().numpy(), labels)


@torch.no_grad()
def predict_logits(model: VertexCNN, batches, compute: Compute, domain: bool = False,
                   features: bool = False) -> tuple[torch.Tensor, ...]:
    """Segment logits, labels (None without), then the domain logits with ``domain`` and
    the concatenated features with ``features``, of every event, in order, on CPU."""
    model.eval()
    logits, domain_logits, labels, feature_rows = [], [], [], []
    for batch in batches.epoch(shuffle=False):
        x, u, v = _to(batch, compute)[0]
        with compute.autocast():
            feats = model.features(x, u, v)
            logits.append(model.classify(feats).float().cpu())
            if domain:
                domain_logits.append(model.domain_logit(feats, 0.0).float().cpu())
        if features:
            feature_rows.append(feats.float().cpu())
        if batch.labels is not None:
            labels.append(batch.labels.cpu())
    out = (torch.cat(logits), torch.cat(labels) if labels else None)
    if domain:
        out += (torch.cat(domain_logits),)
    if features:
        out += (torch.cat(feature_rows),)
    return out


def validate(model: VertexCNN, source_val, target_val, compute: Compute, seed: int = 0) -> dict:
    """Source-validation loss and accuracy; for a DANN, domain accuracy and AUC and the DEV
    risk (``validators.dev_risk``)."""
    is_dann = isinstance(model, VertexDANN) and target_val is not None
    src = predict_logits(model, source_val, compute, domain=is_dann, features=is_dann)
    logits, labels = src[0], src[1]
    out = {
        "val_label_loss": float(F.cross_entropy(logits, labels)),
        "val_accuracy": float((logits.argmax(1) == labels).float().mean()),
        "val_domain_accuracy": float("nan"),
        "val_domain_auc": float("nan"),
        "val_dev_risk": float("nan"),
    }
    if is_dann:
        # The target's validation events are read without labels: only the domain matters.
        _, _, target_domain_logits, target_features = predict_logits(model, target_val, compute, domain=True, features=True)
        scores = torch.cat([src[2], target_domain_logits])
        is_target = torch.cat([torch.zeros(len(src[2])), torch.ones(len(target_domain_logits))])
        out["val_domain_accuracy"] = float(((scores > 0).float() == is_target).float().mean())
        out["val_domain_auc"] = validation_auc(scores, is_target)
        losses = F.cross_entropy(logits, labels, reduction="none").numpy()
        out["val_dev_risk"] = validators.dev_risk_of_features(losses, src[3].numpy(), target_features.numpy(), seed=seed)
    return out


SELECTION_COLUMN = {"source_loss": "val_label_loss", "dev": "val_dev_risk"}


# --- optimisation ------------------------------------------------------------------------
def make_optimizer(model: torch.nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=s.learning_rate, momentum=s.momentum, weight_decay=s.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=s.learning_rate, weight_decay=s.weight_decay)


def learning_rate_at(s: TrainSettings, step: int, total_steps: int) -> float:
    return schedules.learning_rate(
        s.lr_schedule, s.learning_rate, step, total_steps, inv_gamma=s.lr_inv_gamma, power=s.lr_power, alpha=s.lr_ganin_alpha,
        warmup=s.lr_warmup_fraction,
    )


def lambda_at(s: TrainSettings, step: int, total_steps: int) -> float:
    p = schedules.progress(step, total_steps)
    return schedules.reversal_lambda(p, s.lambda_schedule, s.lambda_max, s.lambda_gamma)


def epoch_generator(seed: int, epoch: int, stream: int) -> torch.Generator:
    """The data-order generator of one epoch: a function of (seed, epoch, stream) alone."""
    return torch.Generator().manual_seed(int(seed) * 1_000_003 + epoch * 101 + stream)


def _cycle(batches, seed: int, epoch: int):
    """Endless target batches, reshuffled every pass."""
    rounds = 0
    while True:
        yield from batches.epoch(epoch_generator(seed, epoch * 1000 + rounds, stream=1))
        rounds += 1


def _to(batch: datasets.Batch, compute: Compute):
    views = compute.inputs(batch.views())
    labels = None if batch.labels is None else batch.labels.to(compute.device, non_blocking=True)
    return views, labels


@dataclass
class StepLosses:
    """What one step reports: the loss to minimise and the figures of the epoch's row."""

    loss: torch.Tensor
    label_loss: torch.Tensor
    correct: torch.Tensor
    domain_loss: torch.Tensor | None = None
    domain_correct: torch.Tensor | None = None


def cnn_loss(model, s: TrainSettings, source, target, lambda_, compute: Compute) -> StepLosses:
    """Cross-entropy of the segment labels."""
    (x, u, v), labels = _to(source, compute)
    logits = model.classify(model.features(x, u, v))
    label_loss = F.cross_entropy(logits.float(), labels)
    return StepLosses(label_loss, label_loss, (logits.argmax(1) == labels).sum())


def dann_loss(model, s: TrainSettings, source, target, lambda_, compute: Compute) -> StepLosses:
    """Label loss on source events plus the weighted domain loss on both domains, behind
    the gradient reversal layer (strength ``lambda_``). Target labels are never read."""
    (xs, us, vs), labels = _to(source, compute)
    (xt, ut, vt), _ = _to(target, compute)
    device = compute.device
    n_source = xs.shape[0]
    feats = model.features(torch.cat([xs, xt]), torch.cat([us, ut]), torch.cat([vs, vt]))
    logits = model.classify(feats[:n_source])
    label_loss = F.cross_entropy(logits.float(), labels)
    domain_logits = model.domain_logit(feats, lambda_).float()
    is_target = torch.cat([torch.zeros(n_source, device=device), torch.ones(xt.shape[0], device=device)])
    domain_loss = F.binary_cross_entropy_with_logits(domain_logits, is_target)
    return StepLosses(
        label_loss + s.domain_loss_weight * domain_loss,
        label_loss,
        (logits.argmax(1) == labels).sum(),
        domain_loss,
        ((domain_logits > 0).float() == is_target).sum(),
    )


LOSSES = {"cnn": cnn_loss, "dann": dann_loss}


def train_step(model, optimizer, s: TrainSettings, source, target, lambda_: float, compute: Compute) -> StepLosses:
    """One optimisation step with the loss of the model's kind."""
    with compute.autocast():
        losses = LOSSES[s.kind](model, s, source, target, lambda_, compute)
    optimizer.zero_grad(set_to_none=True)
    losses.loss.backward()
    optimizer.step()
    return losses


# --- the loop ------------------------------------------------------------------------------
def _batches(s: TrainSettings, options: RunOptions, device, paths, split, labels, max_events):
    return datasets.load_batches(
        paths,
        split,
        channels=s.channels,
        labels=labels,
        batch_size=s.batch_size,
        max_events=max_events,
        memory_limit_mb=options.memory_limit_mb,
        chunk_events=options.chunk_events,
        device=device,
        progress=options.progress,
    )


def train(
    settings: TrainSettings,
    source_files: Sequence[str | Path],
    target_files: Sequence[str | Path] = (),
    *,
    checkpoint_dir: str | Path,
    options: RunOptions,
    on_epoch_end: Callable[[int, dict], None] | None = None,
    on_step: Callable[[int, VertexCNN], None] | None = None,
    init_state: dict | None = None,
    init_identity: Sequence[str | Path] = (),
) -> TrainResult:
    """Train ``settings`` on the image files; resume from ``checkpoint_dir`` when it holds
    a checkpoint of the same training. ``init_state``: the trained weights of the model named
    by ``settings.init_from`` (its file in ``init_identity``, part of the resume fingerprint).
    ``on_epoch_end(epoch, metrics)`` runs after each epoch's checkpoint is written;
    ``on_step(steps_done, model)`` after every optimisation step (the learning-curve
    benchmark scores the model there)."""
    s = settings
    is_dann = s.kind == "dann"
    if is_dann and not target_files:
        raise ValueError("a dann model needs the target sample's image files")
    if (s.init_from is None) != (init_state is None):
        raise ValueError(f"init_from is {s.init_from!r}: its weights must be given exactly when it is set")
    compute = Compute.for_options(options)
    options = dataclasses.replace(options, precision=compute.precision)  # the fingerprint holds what ran
    device = compute.device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    source_train = _batches(s, options, device, source_files, "train", s.labels, s.max_train_events)
    source_val = _batches(s, options, device, source_files, "validation", s.labels, s.max_val_events)
    target_train = _batches(s, options, device, target_files, "train", False, s.max_train_events) if is_dann else None
    target_val = _batches(s, options, device, target_files, "validation", False, s.max_val_events) if is_dann else None

    torch.manual_seed(s.seed)
    model = build_model(s.kind, s.channels, s.dropout, s.labels, s.input_transform)
    if init_state is not None:
        start_from(model, init_state, s.init_from)
    model = compute.layout(model.to(device))
    optimizer = make_optimizer(model, s)
    step_model = torch.compile(model) if options.compile else model

    path = checkpoints.checkpoint_path(checkpoint_dir)
    fp = checkpoints.fingerprint(s, options, device, checkpoints.input_identity([*source_files, *target_files, *init_identity]))
    state = checkpoints.load_checkpoint(path, fp)
    run = RunState()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        run = RunState.from_checkpoint(state)
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
    start_epoch = run.epoch
    start_step = run.partial.steps if run.partial is not None else 0
    if state is not None:
        log.info("resuming from %s: epoch %d of %d, after step %d", path, start_epoch + 1, s.epochs, start_step)

    def save(run: RunState) -> None:
        checkpoints.save_checkpoint(
            path,
            {
                "fingerprint": fp,
                **run.to_checkpoint(),
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
            },
        )

    steps_per_epoch = len(source_train)
    total_steps = s.epochs * steps_per_epoch
    saver = PeriodicSave(save, options.checkpoint_minutes * 60.0)
    for epoch in range(start_epoch, s.epochs):
        row = _train_epoch(
            step_model, optimizer, s, epoch, steps_per_epoch, total_steps, source_train, target_train, compute,
            options.progress, on_step, run, saver,
        )
        row.update(validate(model, source_val, target_val, compute, s.seed))
        criterion = row[SELECTION_COLUMN[s.selection]]
        _check_validation(row, ("val_label_loss", SELECTION_COLUMN[s.selection]), epoch)
        if criterion < run.best_selection_score:
            run.best_selection_score, run.best_epoch = criterion, epoch
            run.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        run.metrics.append(row)
        run.epoch = epoch + 1
        saver.save_now(run)
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    final = build_model(s.kind, s.channels, s.dropout, s.labels, s.input_transform)
    final.load_state_dict({k: v.cpu() for k, v in run.best_state.items()})
    for row in run.metrics:
        row["selected"] = row["epoch"] == run.best_epoch
    return TrainResult(final.eval(), run.metrics, run.best_epoch, start_epoch, start_step, compute)


def start_from(model: VertexCNN, state: dict, name: str) -> None:
    """Load the trained weights of model ``name`` into ``model``; a DANN started from a CNN
    keeps its fresh domain classifier, and nothing else may be missing or left over."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    fresh = [key for key in missing if not key.startswith("domain_classifier.")]
    if fresh or unexpected:
        raise ValueError(f"the weights of '{name}' do not fit this network: missing {fresh}, unexpected {unexpected}")


# --- resumable state -------------------------------------------------------------------------
@dataclass
class EpochProgress:
    """How far an epoch got: steps done and its running sums (plain numbers)."""

    steps: int = 0
    label_loss: float = 0.0
    correct: float = 0.0
    domain_loss: float = 0.0
    domain_correct: float = 0.0
    n_source: int = 0
    n_domain: int = 0
    seconds: float = 0.0


@dataclass
class RunState:
    """Everything of a training run, besides weights and optimiser, that a resume needs."""

    epoch: int = 0  # epochs complete
    partial: EpochProgress | None = None  # the epoch under way, when saved mid-epoch
    best_state: dict | None = None
    best_epoch: int = -1
    # The selected epoch's figure of merit, lower is better: its source validation loss or
    # (selection: dev) its DEV risk (SELECTION_COLUMN).
    best_selection_score: float = math.inf
    metrics: list[dict] = field(default_factory=list)

    def to_checkpoint(self) -> dict:
        return {
            "epoch": self.epoch,
            "partial": None if self.partial is None else dataclasses.asdict(self.partial),
            "best_state": self.best_state,
            "best_epoch": self.best_epoch,
            "best_selection_score": self.best_selection_score,
            "metrics": self.metrics,
        }

    @classmethod
    def from_checkpoint(cls, state: dict) -> "RunState":
        partial = state.get("partial")
        # Older checkpoints call the score best_val_loss, whatever the selection; they resume alike.
        best = state["best_selection_score"] if "best_selection_score" in state else state["best_val_loss"]
        return cls(
            state["epoch"], None if partial is None else EpochProgress(**partial), state["best_state"],
            state["best_epoch"], best, list(state["metrics"]),
        )


class _FiniteWatch:
    """The first step whose loss is not finite, kept on the device and read only where the
    epoch reads its running sums anyway (no extra synchronisation)."""

    def __init__(self, device):
        self.first = torch.tensor(-1, device=device)

    def see(self, step: int, loss: torch.Tensor) -> None:
        self.first = torch.where((self.first < 0) & ~torch.isfinite(loss.detach()), step, self.first)

    def check(self, epoch: int, steps_per_epoch: int) -> None:
        first = int(self.first.item())
        if first > 0:
            raise NonFiniteLossError(f"the training loss of epoch {epoch + 1} is not finite from step {first} of {steps_per_epoch}")


def _check_validation(row: dict, columns, epoch: int) -> None:
    for column in dict.fromkeys(columns):
        if not math.isfinite(row[column]):
            raise NonFiniteLossError(f"{column} of epoch {epoch + 1} is {row[column]}")


class PeriodicSave:
    """Calls ``save`` when ``interval_s`` have passed since the last save (0: every call)."""

    def __init__(self, save: Callable[[RunState], None], interval_s: float):
        self.save, self.interval_s = save, interval_s
        self.last = time.monotonic()

    def saved(self) -> None:
        self.last = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.interval_s

    def save_now(self, run: RunState) -> None:
        self.save(run)
        self.saved()


def _train_epoch(
    model, optimizer, s, epoch, steps_per_epoch, total_steps, source, target, compute, progress, on_step, run, saver
):
    """One epoch; from ``run.partial`` when a mid-epoch checkpoint is resumed. Mid-epoch
    checkpoints (every ``saver`` interval) hold the steps done and the running sums; the
    resumed epoch replays the same data order and skips the batches already trained on,
    so it ends with the weights of an uninterrupted one."""
    from tqdm.auto import tqdm

    device = compute.device
    model.train()
    done = run.partial or EpochProgress()
    target_iter = _cycle(target, s.seed, epoch) if target is not None else None
    sums = {k: torch.tensor(float(getattr(done, k)), device=device) for k in ("label_loss", "correct", "domain_loss", "domain_correct")}
    n_source, n_domain = done.n_source, done.n_domain
    watch = _FiniteWatch(device)
    lr = lam = float("nan")
    bar = tqdm(total=steps_per_epoch, initial=done.steps, desc=f"epoch {epoch + 1}/{s.epochs}", unit="step", disable=not progress)
    start = time.perf_counter() - done.seconds

    def progress_now(steps: int) -> EpochProgress:
        totals = {k: v.item() for k, v in sums.items()}
        return EpochProgress(steps, **totals, n_source=n_source, n_domain=n_domain, seconds=time.perf_counter() - start)

    for i, batch in enumerate(source.epoch(epoch_generator(s.seed, epoch, stream=0))):
        tbatch = next(target_iter) if target_iter is not None else None
        if i < done.steps:
            continue  # trained on before the checkpoint this run resumed from
        step = epoch * steps_per_epoch + i
        lr = learning_rate_at(s, step, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        lam = lambda_at(s, step, total_steps) if target_iter is not None else float("nan")
        losses = train_step(model, optimizer, s, batch, tbatch, lam, compute)
        watch.see(i + 1, losses.loss)
        n = len(batch)
        n_source += n
        sums["label_loss"] += losses.label_loss.detach() * n
        sums["correct"] += losses.correct
        if losses.domain_loss is not None:
            m = n + len(tbatch)
            n_domain += m
            sums["domain_loss"] += losses.domain_loss.detach() * m
            sums["domain_correct"] += losses.domain_correct
        bar.update(1)
        if on_step is not None:
            on_step(step + 1, model)
            model.train()
        if i % 10 == 0 or i == steps_per_epoch - 1:
            watch.check(epoch, steps_per_epoch)
            bar.set_postfix(loss=f"{sums['label_loss'].item() / n_source:.3f}", acc=f"{sums['correct'].item() / n_source:.3f}")
        if i < steps_per_epoch - 1 and saver.due():
            run.partial = progress_now(i + 1)
            saver.save_now(run)
    run.partial = None
    seconds = time.perf_counter() - start
    bar.close()
    totals = {k: v.item() for k, v in sums.items()}
    return {
        "epoch": epoch,
        "train_label_loss": totals["label_loss"] / max(n_source, 1),
        "train_accuracy": totals["correct"] / max(n_source, 1),
        "train_domain_loss": totals["domain_loss"] / n_domain if n_domain else float("nan"),
        "train_domain_accuracy": totals["domain_correct"] / n_domain if n_domain else float("nan"),
        "lambda": lam,
        "learning_rate": lr,
        "train_events_per_s": (n_source - done.n_source) / max(seconds - done.seconds, 1e-9),
        "epoch_seconds": seconds,
    }
