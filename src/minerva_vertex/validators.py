"""Label-free validators: ranking domain-adapted models without target labels.

A DANN is trained to serve the target domain, whose labels real data does not have, so the
usual validation loss (on labelled source events) ignores what matters. Two validators from
the domain-adaptation literature, each a risk (lower is better):

- ``dev_risk``: Deep Embedded Validation (You et al., ICML 2019). A domain classifier on the
  model's features gives each labelled source validation event the density ratio
  w = p_target(x) / p_source(x); the importance-weighted source loss estimates the target
  loss, and a control variate (the weights average to 1) cuts its variance.
- ``entropy_risk``: the mean entropy of the model's predictions on target events (the
  entropy validator of Morerio et al. 2018, one of those Musgrave et al. 2022 compare).

``source_risk`` is the plain source validation loss, the rule they are compared against.
"""

from __future__ import annotations

import numpy as np

from . import metrics

WEIGHT_CLIP = 50.0  # a few events with huge ratios would make the estimate one event's loss


def source_risk(source_losses) -> float:
    """Mean loss of labelled source validation events."""
    return float(np.mean(source_losses))


def density_ratios(source_features, target_features, *, seed: int = 0) -> np.ndarray:
    """Per source event: p_target / p_source of its features, from a logistic domain
    classifier fitted on both sets (odds times the ratio of the set sizes), clipped at
    ``WEIGHT_CLIP`` and scaled to average 1 over the source events."""
    source_features = np.asarray(source_features, np.float32)
    target_features = np.asarray(target_features, np.float32)
    logit = metrics.fit_domain_classifier(source_features, target_features, seed=seed)(source_features)
    weights = np.exp(np.clip(logit, -30, 30)) * len(source_features) / len(target_features)
    weights = np.minimum(weights, WEIGHT_CLIP)
    return weights / weights.mean()


def dev_risk(source_losses, weights) -> float:
    """Deep Embedded Validation: the weighted loss L = w l with the control variate w,
    mean(L) + eta (mean(w) - 1), eta = -Cov(L, w) / Var(w) (You et al. 2019, eq. 9)."""
    losses, weights = np.asarray(source_losses, float), np.asarray(weights, float)
    if len(losses) != len(weights) or len(losses) < 2:
        raise ValueError(f"DEV needs one weight per source loss and at least 2 events, got {len(losses)} and {len(weights)}")
    weighted = weights * losses
    variance = np.var(weights, ddof=1)
    eta = -np.cov(weighted, weights, ddof=1)[0, 1] / variance if variance > 0 else 0.0
    return float(weighted.mean() + eta * (weights.mean() - 1.0))


def dev_risk_of_features(source_losses, source_features, target_features, *, seed: int = 0) -> float:
    """DEV of a model from its per-event source validation losses and the features of both
    domains' validation events (``density_ratios`` then ``dev_risk``)."""
    return dev_risk(source_losses, density_ratios(source_features, target_features, seed=seed))


def entropy_risk(target_probabilities) -> float:
    """Mean entropy (nats) of the predicted class probabilities of target events."""
    p = np.clip(np.asarray(target_probabilities, float), 1e-12, 1.0)
    return float(-(p * np.log(p)).sum(axis=1).mean())


def choose(risks: dict[str, float]) -> str:
    """The candidate with the lowest risk (ties: the first in order, as ``min`` keeps)."""
    return min(risks, key=risks.get)
