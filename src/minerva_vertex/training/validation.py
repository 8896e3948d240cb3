"""Validation after each epoch and the figure that selects the epoch kept.

Model selection reads no target labels: the best epoch has the lowest loss on source
validation events or (``selection: dev``) the lowest DEV risk. For a network that learns
from a target sample (DANN, MCC) the DEV risk on validation events of both domains is
logged, for a DANN also its domain classifier's accuracy and AUC.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from minerva_vertex import metrics, validators
from minerva_vertex.devices import Compute
from minerva_vertex.models import VertexCNN, VertexDANN

from .steps import NonFiniteLossError, to_device

SELECTION_COLUMN = {"source_loss": "val_label_loss", "dev": "val_dev_risk"}


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
        x, u, v = to_device(batch, compute)[0]
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
    """Source-validation loss and accuracy; with a target sample, the DEV risk
    (``validators.dev_risk``), and for a DANN its domain classifier's accuracy and AUC."""
    has_domain = isinstance(model, VertexDANN) and target_val is not None
    has_target = target_val is not None
    src = predict_logits(model, source_val, compute, domain=has_domain, features=has_target)
    logits, labels = src[0], src[1]
    out = {
        "val_label_loss": float(F.cross_entropy(logits, labels)),
        "val_accuracy": float((logits.argmax(1) == labels).float().mean()),
        "val_domain_accuracy": float("nan"),
        "val_domain_auc": float("nan"),
        "val_dev_risk": float("nan"),
    }
    if has_target:
        # The target's validation events are read without labels: only their features and domain matter.
        target = predict_logits(model, target_val, compute, domain=has_domain, features=True)
        if has_domain:
            out.update(_domain_figures(src[2], target[2]))
        losses = F.cross_entropy(logits, labels, reduction="none").numpy()
        out["val_dev_risk"] = validators.dev_risk_of_features(losses, src[-1].numpy(), target[-1].numpy(), seed=seed)
    return out


def _domain_figures(source_domain_logits: torch.Tensor, target_domain_logits: torch.Tensor) -> dict:
    """The domain classifier's accuracy and AUC on the validation events of both domains."""
    scores = torch.cat([source_domain_logits, target_domain_logits])
    is_target = torch.cat([torch.zeros(len(source_domain_logits)), torch.ones(len(target_domain_logits))])
    return {
        "val_domain_accuracy": float(((scores > 0).float() == is_target).float().mean()),
        "val_domain_auc": validation_auc(scores, is_target),
    }


def check_validation(row: dict, columns, epoch: int) -> None:
    """A NonFiniteLossError naming the first of ``columns`` of the epoch's row that is not finite."""
    for column in dict.fromkeys(columns):
        if not math.isfinite(row[column]):
            raise NonFiniteLossError(f"{column} of epoch {epoch + 1} is {row[column]}")
