"""Training of the vertex CNN and the DANN: loop, checkpoints, model selection, outputs.

- The label loss uses labelled source events only; the target sample of a DANN is read
  without labels (``datasets.load_batches(..., labels=False)``).
- CUDA when present (bf16 autocast, data kept on the GPU when it fits), CPU otherwise;
  the same settings work on both. On CPU a seed gives the same weights every time.
- After every epoch the whole state (model, optimizer, best weights so far, metrics, RNG
  states) is saved atomically to the checkpoint directory, outside the rule's outputs. A
  restarted job resumes from it and ends with the weights of an uninterrupted run; a
  checkpoint made with other settings or other input files is ignored.
- Model selection reads no target labels: the best epoch has the lowest loss on source
  validation events (split 1); for a DANN the domain classifier's accuracy and AUC on
  validation events of both domains are logged.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import datasets, schedules
from .models import VertexCNN, VertexDANN, build_model

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = 1


@dataclass
class TrainSettings:
    """What a model is and how it is trained; everything that changes the weights.

    Defaults equal the ones documented in workflow/schemas/models.schema.yaml (a test
    keeps the two in step).
    """

    kind: str = "cnn"  # cnn | dann
    train_sample: str = ""
    target_sample: str | None = None  # dann only: the unlabelled domain
    epochs: int = 4
    batch_size: int = 64  # source events per step; a DANN adds as many target events
    optimizer: str = "adam"  # adam | sgd (with momentum)
    learning_rate: float = 1e-3
    momentum: float = 0.9  # sgd only (MINERvA's Caffe setup)
    lr_schedule: str = "constant"  # constant | inv (MINERvA's Caffe) | ganin (Ganin et al.)
    lr_inv_gamma: float = schedules.CAFFE_INV_GAMMA
    lr_power: float = schedules.CAFFE_INV_POWER
    lr_ganin_alpha: float = schedules.GANIN_LR_ALPHA
    weight_decay: float = 1e-4  # L2 (MINERvA)
    dropout: float = 0.5  # MINERvA
    domain_loss_weight: float = 0.1  # MINERvA's Caffe setup; Ganin et al. use 1
    lambda_schedule: str = "ganin"  # ganin | constant
    lambda_max: float = 1.0
    lambda_gamma: float = schedules.GANIN_LAMBDA_GAMMA
    channels: int = 1  # 1 energy, 2 energy and time
    seed: int = 1
    max_train_events: int | None = None  # per domain; None: the whole train split
    max_val_events: int | None = 2000  # per domain

    @classmethod
    def from_dict(cls, values: dict) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(sorted(unknown))}")
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.kind not in ("cnn", "dann"):
            raise ValueError(f"kind must be 'cnn' or 'dann', got '{self.kind}'")
        if self.kind == "dann" and not self.target_sample:
            raise ValueError("a dann model needs a target_sample")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got '{self.optimizer}'")
        if self.lr_schedule not in schedules.LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {schedules.LR_SCHEDULES}, got '{self.lr_schedule}'")
        if self.lambda_schedule not in schedules.LAMBDA_SCHEDULES:
            raise ValueError(f"lambda_schedule must be one of {schedules.LAMBDA_SCHEDULES}")
        if self.channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, got {self.channels}")


@dataclass
class RunOptions:
    """How a training runs; none of these change the weights on a given device."""

    device: str = "auto"  # auto (cuda when present) | cpu | cuda
    memory_limit_mb: float = 4096  # events held in memory up to this size, else chunked reads
    chunk_events: int = 4096
    channels_last: bool = True  # faster convolutions on CPU (benchmarks/bench_training.py)
    compile: bool = False  # torch.compile the model (slow to start; pays off on long runs)
    progress: bool = True


@dataclass
class TrainResult:
    model: VertexCNN  # with the selected (best) epoch's weights, on the CPU
    metrics: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    resumed_from_epoch: int = 0


# --- devices ---------------------------------------------------------------------------
def choose_device(requested: str = "auto") -> torch.device:
    """cuda when asked for or, with 'auto', when present; cpu otherwise."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("training.device is 'cuda' but no CUDA device is available")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, got '{requested}'")
    return torch.device(requested)


def autocast_for(device: torch.device):
    """bf16 autocast on CUDA; plain fp32 on CPU (exact and deterministic)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return torch.autocast("cpu", enabled=False)


def data_device(device: torch.device, n_bytes: int) -> torch.device:
    """Where to hold in-memory events: on the GPU when they take under half its free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if n_bytes < free // 2:
            return device
    return torch.device("cpu")


# --- checkpoints -----------------------------------------------------------------------
def input_identity(paths: Sequence[str | Path]) -> list[list]:
    """(path, size, mtime) of each input: a regenerated file invalidates a checkpoint."""
    out = []
    for path in paths:
        st = os.stat(path)
        out.append([str(path), st.st_size, st.st_mtime_ns])
    return out


def fingerprint(settings: TrainSettings, options: RunOptions, device: torch.device, inputs: list) -> str:
    state = {
        "settings": asdict(settings),
        "channels_last": options.channels_last,
        "compile": options.compile,
        "device": device.type,
        "inputs": inputs,
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def atomic_torch_save(obj, path: str | Path) -> None:
    """torch.save to a temporary name beside ``path``, then rename: never half-written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, expected_fingerprint: str) -> dict | None:
    """The checkpoint's state if it belongs to this training, else None."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("format") != CHECKPOINT_FORMAT or state.get("fingerprint") != expected_fingerprint:
        return None
    return state


# --- metrics ---------------------------------------------------------------------------
def auc(scores: torch.Tensor, positive: torch.Tensor) -> float:
    """Area under the ROC curve (Mann-Whitney U), ties counted half."""
    pos = positive.bool().numpy()
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    values = scores.double().numpy()
    ranks = np.empty(len(values))
    ranks[np.argsort(values, kind="stable")] = np.arange(1, len(values) + 1)
    _, tie, count = np.unique(values, return_inverse=True, return_counts=True)
    ranks = (np.bincount(tie, weights=ranks) / count)[tie]  # ties share their mean rank
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@torch.no_grad()
def predict_logits(model: VertexCNN, batches, device: torch.device, domain: bool = False) -> tuple[torch.Tensor, ...]:
    """Segment logits (and domain logits with ``domain``) of every event, in order, on CPU."""
    model.eval()
    logits, domain_logits, labels = [], [], []
    for batch in batches.epoch(shuffle=False):
        x, u, v = (t.to(device, non_blocking=True) for t in batch.views())
        with autocast_for(device):
            feats = model.features(x, u, v)
            logits.append(model.classify(feats).float().cpu())
            if domain:
                domain_logits.append(model.domain_logit(feats, 0.0).float().cpu())
        if batch.labels is not None:
            labels.append(batch.labels.cpu())
    out = (torch.cat(logits), torch.cat(labels) if labels else None)
    if domain:
        out += (torch.cat(domain_logits),)
    return out


def validate(model: VertexCNN, source_val, target_val, device: torch.device) -> dict:
    """Source-validation loss and accuracy; for a DANN, domain accuracy and AUC."""
    is_dann = isinstance(model, VertexDANN) and target_val is not None
    src = predict_logits(model, source_val, device, domain=is_dann)
    logits, labels = src[0], src[1]
    out = {
        "val_label_loss": float(F.cross_entropy(logits, labels)),
        "val_accuracy": float((logits.argmax(1) == labels).float().mean()),
        "val_domain_accuracy": float("nan"),
        "val_domain_auc": float("nan"),
    }
    if is_dann:
        # The target's validation events are read without labels: only the domain matters.
        target_domain_logits = predict_logits(model, target_val, device, domain=True)[2]
        scores = torch.cat([src[2], target_domain_logits])
        is_target = torch.cat([torch.zeros(len(src[2])), torch.ones(len(target_domain_logits))])
        out["val_domain_accuracy"] = float(((scores > 0).float() == is_target).float().mean())
        out["val_domain_auc"] = auc(scores, is_target)
    return out


# --- the loop --------------------------------------------------------------------------
def make_optimizer(model: torch.nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=s.learning_rate, momentum=s.momentum, weight_decay=s.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=s.learning_rate, weight_decay=s.weight_decay)


def learning_rate_at(s: TrainSettings, step: int, total_steps: int) -> float:
    return schedules.learning_rate(
        s.lr_schedule,
        s.learning_rate,
        step,
        total_steps,
        inv_gamma=s.lr_inv_gamma,
        power=s.lr_power,
        alpha=s.lr_ganin_alpha,
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


def _to(batch: datasets.Batch, device: torch.device, channels_last: bool):
    views = [t.to(device, non_blocking=True) for t in batch.views()]
    if channels_last:
        views = [t.contiguous(memory_format=torch.channels_last) for t in views]
    labels = None if batch.labels is None else batch.labels.to(device, non_blocking=True)
    return views, labels


def train_step(model, optimizer, s: TrainSettings, source, target, lambda_: float, device, channels_last, scaler_ctx):
    """One optimisation step; returns (label loss, correct, domain loss, domain correct)."""
    (xs, us, vs), ys = _to(source, device, channels_last)
    n_source = xs.shape[0]
    with scaler_ctx:
        if target is None:
            feats = model.features(xs, us, vs)
            logits = model.classify(feats)
            label_loss = F.cross_entropy(logits.float(), ys)
            loss, domain_loss, domain_correct = label_loss, None, None
        else:
            (xt, ut, vt), _ = _to(target, device, channels_last)  # target labels never read
            feats = model.features(torch.cat([xs, xt]), torch.cat([us, ut]), torch.cat([vs, vt]))
            logits = model.classify(feats[:n_source])
            label_loss = F.cross_entropy(logits.float(), ys)
            domain_logits = model.domain_logit(feats, lambda_).float()
            is_target = torch.cat([torch.zeros(n_source, device=device), torch.ones(xt.shape[0], device=device)])
            domain_loss = F.binary_cross_entropy_with_logits(domain_logits, is_target)
            loss = label_loss + s.domain_loss_weight * domain_loss
            domain_correct = ((domain_logits > 0).float() == is_target).sum()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    correct = (logits.argmax(1) == ys).sum()
    return label_loss.detach(), correct, None if domain_loss is None else domain_loss.detach(), domain_correct


def train(
    settings: TrainSettings,
    source_files: Sequence[str | Path],
    target_files: Sequence[str | Path] = (),
    *,
    checkpoint_dir: str | Path,
    options: RunOptions | None = None,
    on_epoch_end: Callable[[int, dict], None] | None = None,
) -> TrainResult:
    """Train ``settings`` on the image files; resume from ``checkpoint_dir`` when it holds
    a checkpoint of the same training. ``on_epoch_end(epoch, metrics)`` runs after each
    epoch's checkpoint is written."""
    s, options = settings, options or RunOptions()
    s.check()
    is_dann = s.kind == "dann"
    if is_dann and not target_files:
        raise ValueError("a dann model needs the target sample's image files")
    device = choose_device(options.device)
    channels_last = options.channels_last and device.type == "cpu"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True

    def batches(paths, split, labels, max_events):
        selection = datasets.select_events(paths, split, s.channels, labels, max_events)
        n_bytes = datasets.n_selected(selection) * datasets.bytes_per_event(s.channels)
        return datasets.load_batches(
            paths,
            split,
            channels=s.channels,
            labels=labels,
            batch_size=s.batch_size,
            max_events=max_events,
            memory_limit_mb=options.memory_limit_mb,
            chunk_events=options.chunk_events,
            device=data_device(device, n_bytes),
            progress=options.progress,
        )

    source_train = batches(source_files, "train", True, s.max_train_events)
    source_val = batches(source_files, "validation", True, s.max_val_events)
    target_train = batches(target_files, "train", False, s.max_train_events) if is_dann else None
    target_val = batches(target_files, "validation", False, s.max_val_events) if is_dann else None

    torch.manual_seed(s.seed)
    model = build_model(s.kind, s.channels, s.dropout).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = make_optimizer(model, s)
    step_model = torch.compile(model) if options.compile else model

    inputs = input_identity(list(source_files) + list(target_files))
    checkpoint_path = Path(checkpoint_dir) / CHECKPOINT_NAME
    fp = fingerprint(s, options, device, inputs)
    state = load_checkpoint(checkpoint_path, fp)
    metrics: list[dict] = []
    best_state, best_epoch, best_loss, start_epoch = None, -1, math.inf, 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        best_state, best_epoch, best_loss = state["best_state"], state["best_epoch"], state["best_val_loss"]
        metrics, start_epoch = list(state["metrics"]), state["epoch"]
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    steps_per_epoch = len(source_train)
    total_steps = s.epochs * steps_per_epoch
    for epoch in range(start_epoch, s.epochs):
        row = _train_epoch(
            step_model, optimizer, s, epoch, steps_per_epoch, total_steps, source_train, target_train, device,
            channels_last, options.progress,
        )
        row.update(validate(model, source_val, target_val, device))
        if row["val_label_loss"] < best_loss:
            best_loss, best_epoch = row["val_label_loss"], epoch
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        metrics.append(row)
        atomic_torch_save(
            {
                "format": CHECKPOINT_FORMAT,
                "fingerprint": fp,
                "epoch": epoch + 1,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "best_state": best_state,
                "best_epoch": best_epoch,
                "best_val_loss": best_loss,
                "metrics": metrics,
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
            },
            checkpoint_path,
        )
        if on_epoch_end is not None:
            on_epoch_end(epoch, row)

    final = build_model(s.kind, s.channels, s.dropout)
    final.load_state_dict({k: v.cpu() for k, v in best_state.items()})
    for row in metrics:
        row["selected"] = row["epoch"] == best_epoch
    return TrainResult(final.eval(), metrics, best_epoch, start_epoch)


def _train_epoch(model, optimizer, s, epoch, steps_per_epoch, total_steps, source, target, device, channels_last, progress):
    from tqdm.auto import tqdm

    model.train()
    target_iter = _cycle(target, s.seed, epoch) if target is not None else None
    zero = torch.zeros((), device=device)
    sums = {"label_loss": zero.clone(), "correct": zero.clone(), "domain_loss": zero.clone(), "domain_correct": zero.clone()}
    n_source = n_domain = 0
    autocast = autocast_for(device)
    lr = lam = float("nan")
    bar = tqdm(total=steps_per_epoch, desc=f"epoch {epoch + 1}/{s.epochs}", unit="step", disable=not progress)
    start = time.perf_counter()
    for i, batch in enumerate(source.epoch(epoch_generator(s.seed, epoch, stream=0))):
        step = epoch * steps_per_epoch + i
        lr = learning_rate_at(s, step, total_steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        lam = lambda_at(s, step, total_steps) if target_iter is not None else float("nan")
        tbatch = next(target_iter) if target_iter is not None else None
        label_loss, correct, domain_loss, domain_correct = train_step(
            model, optimizer, s, batch, tbatch, lam, device, channels_last, autocast
        )
        n = len(batch)
        n_source += n
        sums["label_loss"] += label_loss * n
        sums["correct"] += correct
        if domain_loss is not None:
            m = n + len(tbatch)
            n_domain += m
            sums["domain_loss"] += domain_loss * m
            sums["domain_correct"] += domain_correct
        bar.update(1)
        if i % 10 == 0 or i == steps_per_epoch - 1:
            bar.set_postfix(loss=f"{sums['label_loss'].item() / n_source:.3f}", acc=f"{sums['correct'].item() / n_source:.3f}")
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
        "train_events_per_s": n_source / seconds,
        "epoch_seconds": seconds,
    }


# --- outputs ---------------------------------------------------------------------------
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
    "lambda",
    "learning_rate",
    "train_events_per_s",
    "epoch_seconds",
    "selected",
)


def save_weights(model: VertexCNN, settings: TrainSettings, path: str | Path, best_epoch: int) -> None:
    """The weights and what is needed to rebuild the network; tensors and plain types only,
    so :func:`load_model` reads them with ``weights_only=True``."""
    atomic_torch_save(
        {
            "format": CHECKPOINT_FORMAT,
            "kind": settings.kind,
            "channels": settings.channels,
            "dropout": settings.dropout,
            "best_epoch": best_epoch,
            "settings": asdict(settings),
            "state_dict": model.state_dict(),
        },
        path,
    )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> VertexCNN:
    """A trained network from a weights file, in eval mode; never unpickles objects."""
    saved = torch.load(path, map_location=device, weights_only=True)
    model = build_model(saved["kind"], saved["channels"], saved["dropout"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval()


def write_metrics_csv(metrics: list[dict], path: str | Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(metrics, columns=list(METRIC_COLUMNS))
    _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, float_format="%.6g"))


def write_settings_yaml(settings: TrainSettings, name: str, path: str | Path, extra: dict | None = None) -> None:
    import yaml

    document = {"model": name, "settings": asdict(settings), **(extra or {})}
    _atomic_write(path, lambda tmp: Path(tmp).write_text(yaml.safe_dump(document, sort_keys=False)))


def _atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    write(str(tmp))
    os.replace(tmp, path)


def settings_for(config: dict, name: str) -> TrainSettings:
    """The training settings of model ``name`` in a (validated) workflow config."""
    return TrainSettings.from_dict(dict(config["models"][name]))


def run_options(config: dict) -> RunOptions:
    """Run options from the config's ``training`` section (defaults for missing keys)."""
    section = config.get("training", {})
    known = {f.name for f in fields(RunOptions)}
    return RunOptions(**{k: v for k, v in section.items() if k in known})



def train_to_files(
    name: str,
    model_config: dict,
    training_config: dict,
    *,
    source_files: Sequence[str | Path],
    target_files: Sequence[str | Path] = (),
    checkpoint_dir: str | Path,
    weights: str | Path,
    config_out: str | Path,
    metrics_out: str | Path,
) -> TrainResult:
    """What rule ``train`` does: train (resuming when possible) and write every output."""
    settings = TrainSettings.from_dict(dict(model_config))
    options = run_options(training_config)
    result = train(settings, source_files, target_files, checkpoint_dir=checkpoint_dir, options=options)
    device = choose_device(options.device)
    save_weights(result.model, settings, weights, result.best_epoch)
    write_settings_yaml(
        settings,
        name,
        config_out,
        {
            "run": {**asdict(options), "device_used": device.type, "threads": torch.get_num_threads()},
            "source_files": [str(p) for p in source_files],
            "target_files": [str(p) for p in target_files],
            "selected_epoch": result.best_epoch,
            "resumed_from_epoch": result.resumed_from_epoch,
        },
    )
    write_metrics_csv(result.metrics, metrics_out)
    return result
