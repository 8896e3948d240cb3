"""The domain-adaptation study: CNN, DANN and oracle over several seeds, and which DANN
each label-free validator would pick.

Per seed the study trains a source-only CNN, an oracle (a CNN on the target's labels) and
one DANN per domain-loss weight; every network is scored on both test splits. The
validators (``validators``) rank the DANNs from the source validation events' losses and
features and the target validation events' features and predictions, never a target
label; the target test accuracy of each rule's pick is then set beside the best DANN in
hindsight (the only place target labels enter, for the report).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import metrics, validators

RULES = ("source_loss", "dev", "target_entropy")


@dataclass
class Scored:
    """One trained network: test accuracies and (DANNs) the validators' risks."""

    name: str
    kind: str
    seed: int
    domain_loss_weight: float | None
    source_accuracy: float
    target_accuracy: float
    risks: dict


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def risks(source_logits, source_labels, source_features, target_logits, target_features, *, seed: int = 0) -> dict:
    """Each rule's risk of a model (lower is better) from its validation outputs."""
    losses = F.cross_entropy(source_logits, source_labels, reduction="none").numpy()
    probabilities = torch.softmax(target_logits, dim=1).numpy()
    return {
        "source_loss": validators.source_risk(losses),
        "dev": validators.dev_risk_of_features(losses, source_features.numpy(), target_features.numpy(), seed=seed),
        "target_entropy": validators.entropy_risk(probabilities),
    }


def picks(danns: list[Scored]) -> dict:
    """Per rule: the DANN it picks among one seed's, its target accuracy, and the best's."""
    best = max(danns, key=lambda d: d.target_accuracy)
    out = {}
    for rule in RULES:
        chosen = validators.choose({d.name: d.risks[rule] for d in danns})
        pick = next(d for d in danns if d.name == chosen)
        out[rule] = {"picked": pick.name, "weight": pick.domain_loss_weight, "target_accuracy": pick.target_accuracy,
                     "best": best.name, "best_target_accuracy": best.target_accuracy,
                     "regret": best.target_accuracy - pick.target_accuracy}
    return out


def seed_summary(cnn: Scored, oracle: Scored, dann: Scored) -> dict:
    """Gap and share closed for one seed's CNN, DANN (the default weight) and oracle."""
    return {
        "seed": cnn.seed,
        "cnn": [cnn.source_accuracy, cnn.target_accuracy],
        "dann": [dann.source_accuracy, dann.target_accuracy],
        "oracle_target": oracle.target_accuracy,
        "cnn_drop": cnn.source_accuracy - cnn.target_accuracy,
        "oracle_gap": oracle.target_accuracy - cnn.target_accuracy,
        "gap_closed": metrics.gap_closed(cnn.target_accuracy, dann.target_accuracy, oracle.target_accuracy),
        "dann_source_loss": cnn.source_accuracy - dann.source_accuracy,
    }


def mean_and_spread(values) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray([v for v in values if v is not None], float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0
