"""One optimisation step: the loss of each model kind, the optimiser and the schedules.

- The label loss uses labelled source events only; the target batch of a DANN or an MCC
  network carries no labels.
- The learning rate and the reversal strength are functions of the step alone
  (:mod:`minerva_vertex.schedules`), so a resumed run sets the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from minerva_vertex import datasets, schedules
from minerva_vertex.devices import Compute

from .mcc import class_confusion
from .settings import TrainSettings


class NonFiniteLossError(ValueError):
    """A training or validation loss that is NaN or infinite: no epoch can be selected."""


def to_device(batch: datasets.Batch, compute: Compute):
    """The batch's views (in the memory format trained with) and labels on the device."""
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
    (x, u, v), labels = to_device(source, compute)
    logits = model.classify(model.features(x, u, v))
    label_loss = F.cross_entropy(logits.float(), labels)
    return StepLosses(label_loss, label_loss, (logits.argmax(1) == labels).sum())


def dann_loss(model, s: TrainSettings, source, target, lambda_, compute: Compute) -> StepLosses:
    """Label loss on source events plus the weighted domain loss on both domains, behind
    the gradient reversal layer (strength ``lambda_``). Target labels are never read."""
    (xs, us, vs), labels = to_device(source, compute)
    (xt, ut, vt), _ = to_device(target, compute)
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


def mcc_loss(model, s: TrainSettings, source, target, lambda_, compute: Compute) -> StepLosses:
    """Label loss on source events plus the weighted minimum class confusion of the
    predictions on the target batch (:mod:`.mcc`); both domains pass the network together, as
    in the reference implementation. Target labels are never read."""
    (xs, us, vs), labels = to_device(source, compute)
    (xt, ut, vt), _ = to_device(target, compute)
    n_source = xs.shape[0]
    logits = model.classify(model.features(torch.cat([xs, xt]), torch.cat([us, ut]), torch.cat([vs, vt])))
    source_logits = logits[:n_source]
    label_loss = F.cross_entropy(source_logits.float(), labels)
    confusion = class_confusion(logits[n_source:], s.mcc_temperature)
    return StepLosses(label_loss + s.mcc_loss_weight * confusion, label_loss, (source_logits.argmax(1) == labels).sum())


# A finetune model is the control of an adapted one: the CNN's loss on the same source events.
LOSSES = {"cnn": cnn_loss, "dann": dann_loss, "finetune": cnn_loss, "mcc": mcc_loss}


def train_step(model, optimizer, s: TrainSettings, source, target, lambda_: float, compute: Compute) -> StepLosses:
    """One optimisation step with the loss of the model's kind."""
    with compute.autocast():
        losses = LOSSES[s.kind](model, s, source, target, lambda_, compute)
    optimizer.zero_grad(set_to_none=True)
    losses.loss.backward()
    optimizer.step()
    return losses


def make_optimizer(model: torch.nn.Module, s: TrainSettings) -> torch.optim.Optimizer:
    if s.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=s.learning_rate, momentum=s.momentum, weight_decay=s.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=s.learning_rate, weight_decay=s.weight_decay)


def learning_rate_schedule(s: TrainSettings) -> schedules.LearningRateSchedule:
    return schedules.LearningRateSchedule(
        s.lr_schedule, s.learning_rate, inv_gamma=s.lr_inv_gamma, power=s.lr_power, alpha=s.lr_ganin_alpha,
        warmup=s.lr_warmup_fraction,
    )


def lambda_at(s: TrainSettings, step: int, total_steps: int) -> float:
    p = schedules.progress(step, total_steps)
    return schedules.reversal_lambda(p, s.lambda_schedule, s.lambda_max, s.lambda_gamma)
