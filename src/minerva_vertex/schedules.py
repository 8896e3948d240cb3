"""Schedules of training progress p (fraction of training steps done, 0 to 1).

- Reversal coefficient lambda(p) = 2 / (1 + exp(-gamma p)) - 1, gamma = 10
  (Ganin et al. 2016, arXiv:1505.07818, section 5.2.2; MINERvA's DANN used the same).
- Learning rate:
  - ``constant``: the base rate throughout;
  - ``inv``: Caffe's policy used by MINERvA's DANN, base * (1 + gamma * step)^(-power),
    gamma = 1e-4, power = 0.75 (MINERVA.md, "MINERvA's Caffe setup");
  - ``ganin``: mu_p = base / (1 + alpha p)^beta, alpha = 10, beta = 0.75 (Ganin et al.,
    with base 0.01 in the paper);
  - ``cosine``: a linear warm-up from 0 over the first ``warmup`` fraction of the steps, then
    half a cosine from the base rate down to 0 (Loshchilov & Hutter 2017, SGDR, without
    restarts; the warm-up of Goyal et al. 2017);
  - ``onecycle``: Smith's one-cycle policy as torch.optim.lr_scheduler.OneCycleLR draws it
    (cosine annealing): from base / 25 up to the base over the ``warmup`` fraction, then down
    to base / 25 / 1e4 (Smith & Topin 2018, arXiv:1708.07120).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

GANIN_LAMBDA_GAMMA = 10.0  # Ganin et al. 2016, sec. 5.2.2
CAFFE_INV_GAMMA = 1e-4  # MINERvA's Caffe solver ("inv" policy)
CAFFE_INV_POWER = 0.75
GANIN_LR_ALPHA = 10.0  # Ganin et al. 2016, sec. 5.2.2
GANIN_LR_BETA = 0.75

ONECYCLE_DIV_FACTOR = 25.0  # OneCycleLR's defaults: initial = base / 25,
ONECYCLE_FINAL_DIV_FACTOR = 1e4  # final = initial / 1e4

LR_SCHEDULES = ("constant", "inv", "ganin", "cosine", "onecycle")
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


def _cosine_between(start: float, end: float, fraction: float) -> float:
    """From ``start`` (fraction 0) to ``end`` (fraction 1) along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * fraction))


def cosine_learning_rate(base: float, p: float, warmup: float) -> float:
    """Linear warm-up over the first ``warmup`` of training, then cosine decay to 0."""
    if p < warmup:
        return base * p / warmup
    return _cosine_between(base, 0.0, (p - warmup) / (1.0 - warmup) if warmup < 1 else 1.0)


def onecycle_learning_rate(base: float, p: float, warmup: float) -> float:
    """One-cycle: cosine up from base / 25 over ``warmup``, cosine down to base / 25 / 1e4."""
    initial = base / ONECYCLE_DIV_FACTOR
    if p < warmup:
        return _cosine_between(initial, base, p / warmup)
    return _cosine_between(base, initial / ONECYCLE_FINAL_DIV_FACTOR, (p - warmup) / (1.0 - warmup) if warmup < 1 else 1.0)


@dataclass(frozen=True)
class LearningRateSchedule:
    """A learning-rate schedule (``name``, one of ``LR_SCHEDULES``) from the ``base`` rate, with
    its constants: ``inv_gamma`` and ``power`` of ``inv`` (``power`` is also Ganin's beta),
    ``alpha`` of ``ganin``, the ``warmup`` fraction of ``cosine`` and ``onecycle``."""

    name: str
    base: float
    inv_gamma: float = CAFFE_INV_GAMMA
    power: float = CAFFE_INV_POWER
    alpha: float = GANIN_LR_ALPHA
    warmup: float = 0.0

    def at(self, step: int, total_steps: int) -> float:
        """The learning rate at ``step`` of ``total_steps``."""
        if self.name == "constant":
            return self.base
        if self.name == "inv":
            return inv_learning_rate(self.base, step, self.inv_gamma, self.power)
        if self.name == "ganin":
            return ganin_learning_rate(self.base, progress(step, total_steps), self.alpha, self.power)
        if self.name == "cosine":
            return cosine_learning_rate(self.base, progress(step, total_steps), self.warmup)
        if self.name == "onecycle":
            return onecycle_learning_rate(self.base, progress(step, total_steps), self.warmup)
        raise ValueError(f"unknown learning-rate schedule '{self.name}' (known: {', '.join(LR_SCHEDULES)})")
