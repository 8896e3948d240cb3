"""Schedules of training progress p (fraction of training steps done, 0 to 1).

- Reversal coefficient lambda(p) = 2 / (1 + exp(-gamma p)) - 1, gamma = 10
  (Ganin et al. 2016, arXiv:1505.07818, section 5.2.2; MINERvA's DANN used the same).
- Learning rate:
  - ``constant``: the base rate throughout;
  - ``inv``: Caffe's policy used by MINERvA's DANN, base * (1 + gamma * step)^(-power),
    gamma = 1e-4, power = 0.75 (MINERVA.md, "MINERvA's Caffe setup");
  - ``ganin``: mu_p = base / (1 + alpha p)^beta, alpha = 10, beta = 0.75 (Ganin et al.,
    with base 0.01 in the paper).
"""

from __future__ import annotations

import math

GANIN_LAMBDA_GAMMA = 10.0  # Ganin et al. 2016, sec. 5.2.2
CAFFE_INV_GAMMA = 1e-4  # MINERvA's Caffe solver ("inv" policy)
CAFFE_INV_POWER = 0.75
GANIN_LR_ALPHA = 10.0  # Ganin et al. 2016, sec. 5.2.2
GANIN_LR_BETA = 0.75

LR_SCHEDULES = ("constant", "inv", "ganin")
LAMBDA_SCHEDULES = ("ganin", "constant")


def progress(step: int, total_steps: int) -> float:
    """Fraction of training done before ``step`` (0-based) of ``total_steps``."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    return min(max(step / total_steps, 0.0), 1.0)


def ganin_lambda(p: float, gamma: float = GANIN_LAMBDA_GAMMA) -> float:
    """2 / (1 + exp(-gamma p)) - 1: 0 at the start, towards 1 at the end."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def reversal_lambda(p: float, schedule: str = "ganin", scale: float = 1.0, gamma: float = GANIN_LAMBDA_GAMMA) -> float:
    """The reversal coefficient at progress p: ``scale`` times the schedule's value."""
    if schedule == "ganin":
        return scale * ganin_lambda(p, gamma)
    if schedule == "constant":
        return scale
    raise ValueError(f"unknown lambda schedule '{schedule}' (known: {', '.join(LAMBDA_SCHEDULES)})")


def inv_learning_rate(base: float, step: int, gamma: float = CAFFE_INV_GAMMA, power: float = CAFFE_INV_POWER) -> float:
    """Caffe's "inv" policy: base * (1 + gamma * step)^(-power)."""
    return base * (1.0 + gamma * step) ** (-power)


def ganin_learning_rate(base: float, p: float, alpha: float = GANIN_LR_ALPHA, beta: float = GANIN_LR_BETA) -> float:
    """Ganin's annealing mu_p = base / (1 + alpha p)^beta."""
    return base / (1.0 + alpha * p) ** beta


def learning_rate(
    schedule: str,
    base: float,
    step: int,
    total_steps: int,
    *,
    inv_gamma: float = CAFFE_INV_GAMMA,
    power: float = CAFFE_INV_POWER,
    alpha: float = GANIN_LR_ALPHA,
) -> float:
    """The learning rate of ``schedule`` at ``step`` of ``total_steps``."""
    if schedule == "constant":
        return base
    if schedule == "inv":
        return inv_learning_rate(base, step, inv_gamma, power)
    if schedule == "ganin":
        return ganin_learning_rate(base, progress(step, total_steps), alpha, power)
    raise ValueError(f"unknown learning-rate schedule '{schedule}' (known: {', '.join(LR_SCHEDULES)})")
